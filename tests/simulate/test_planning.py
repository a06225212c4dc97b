"""(3) Planning finds a minimal staffing that meets the target, and one fewer does not."""

from __future__ import annotations

import pytest

from booth_server.simulate.params import Arrivals, Scenario
from booth_server.simulate.planning import PlanningError, _smallest, ample_booths, plan
from booth_server.simulate.runner import replicate

DAY = Scenario(capacity=3, hours=3, arrivals=Arrivals(per_hour=(14.0,)))
TARGET = 600.0


def p95(scenario: Scenario) -> float:
    return replicate(scenario, seed=5, replications=3)[0].wait_p95_s


def test_plan_is_minimal() -> None:
    result = plan(DAY, TARGET, seed=5, replications=3)
    assert result.officers >= 2 and result.booths >= result.officers
    assert result.chosen.meets_target and result.chosen.wait_p95_s <= TARGET
    assert result.one_officer_fewer is not None and not result.one_officer_fewer.meets_target
    assert result.one_booth_fewer is not None and not result.one_booth_fewer.meets_target
    # Checked again, independently of the search's cache.
    k, b = result.officers, result.booths
    assert p95(DAY.with_(officers=k, booths=b)) <= TARGET
    assert p95(DAY.with_(officers=k - 1, booths=ample_booths(k - 1, DAY.capacity))) > TARGET
    assert p95(DAY.with_(officers=k, booths=b - 1)) > TARGET


def test_a_looser_target_needs_no_more_staff() -> None:
    tight = plan(DAY, TARGET, seed=5, replications=3)
    loose = plan(DAY, 4 * 3600.0, seed=5, replications=3)
    assert (loose.officers, loose.booths) <= (tight.officers, tight.booths)


def test_unreachable_target_is_an_error() -> None:
    with pytest.raises(PlanningError):
        plan(DAY, -1.0, seed=1, replications=1, max_officers=3)


def test_smallest_gallops_and_bisects() -> None:
    calls: list[int] = []

    def ok(k: int) -> bool:
        calls.append(k)
        return k >= 37

    assert _smallest(ok, 1, 100) == 37
    assert len(calls) < 15
    assert _smallest(lambda k: False, 1, 10) is None
    assert _smallest(lambda k: True, 4, 10) == 4
