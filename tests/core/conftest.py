"""Hypothesis profiles for the core's property tests.

`pytest tests/core --hypothesis-profile=triage` finds a failure without shrinking it, which is
much faster when checking whether a change breaks an invariant at all.
"""

from hypothesis import Phase, settings

settings.register_profile("triage", phases=[Phase.explicit, Phase.reuse, Phase.generate])
