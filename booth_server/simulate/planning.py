"""Planning: the fewest officers, then the fewest booths, that keep a day's p95 participant
wait (lobby + booth queue) at or under a target.

Officers are the expensive resource, so they are minimised first, with booths plentiful
(2 × officers × N: beyond one booth per session slot, extra booths only let the next
participant sit down and finish the kiosk's setup early). Then booths are minimised for that
number of officers. Each candidate is judged on the p95 wait pooled over the same seeded
replications (common random numbers), which keeps the search close to monotone; the searches
gallop up then bisect, and the answer always comes with the evaluation of one officer fewer
and one booth fewer, which must fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from booth_server.simulate.engine import SimulationError
from booth_server.simulate.params import Scenario
from booth_server.simulate.runner import Progress, _noop, replicate


@dataclass(frozen=True)
class Evaluation:
    officers: int
    booths: int
    wait_p95_s: float
    wait_median_s: float
    visits_per_officer_hour: float
    utilisation: float
    overrun_h: float
    meets_target: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    target_p95_wait_s: float
    capacity: int
    officers: int
    booths: int
    chosen: Evaluation
    one_officer_fewer: Evaluation | None
    one_booth_fewer: Evaluation | None
    evaluations: list[Evaluation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_p95_wait_s": self.target_p95_wait_s,
            "capacity": self.capacity,
            "officers": self.officers,
            "booths": self.booths,
            "chosen": self.chosen.to_dict(),
            "one_officer_fewer": self.one_officer_fewer.to_dict()
            if self.one_officer_fewer else None,
            "one_booth_fewer": self.one_booth_fewer.to_dict() if self.one_booth_fewer else None,
            "evaluations": [e.to_dict() for e in self.evaluations],
        }


class PlanningError(RuntimeError):
    pass


def ample_booths(officers: int, capacity: int) -> int:
    return 2 * officers * capacity


def _smallest(ok: Callable[[int], bool], low: int, high: int) -> int | None:
    """The smallest k in [low, high] with ok(k), assuming ok is monotone: gallop, bisect."""
    if low > high:
        return None
    step, last_bad, probe = 1, low - 1, low
    while True:
        if ok(probe):
            break
        last_bad = probe
        if probe >= high:
            return None
        probe = min(high, probe + step)
        step *= 2
    lo, hi = last_bad + 1, probe
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def plan(
    scenario: Scenario,
    target_p95_wait_s: float,
    *,
    seed: int = 0,
    replications: int = 5,
    max_officers: int = 100,
    progress: Progress = _noop,
) -> Plan:
    if scenario.arrivals.mode == "saturated":
        raise PlanningError("planning needs arrivals (a rate or bookings), not a saturated lobby")
    capacity = scenario.capacity
    cache: dict[tuple[int, int], Evaluation] = {}

    def evaluate(officers: int, booths: int) -> Evaluation:
        key = (officers, booths)
        if key not in cache:
            candidate = scenario.with_(officers=officers, booths=booths)
            try:
                summary, _ = replicate(candidate, seed=seed, replications=replications,
                                       progress=progress)
                cache[key] = Evaluation(
                    officers, booths, summary.wait_p95_s, summary.wait_median_s,
                    summary.visits_per_officer_hour, summary.utilisation, summary.overrun_h,
                    summary.wait_p95_s <= target_p95_wait_s,
                )
            except SimulationError:
                # So far behind that the day never drains: certainly too few.
                cache[key] = Evaluation(officers, booths, float("inf"), float("inf"),
                                        0.0, 1.0, float("inf"), False)
        return cache[key]

    officers = _smallest(
        lambda k: evaluate(k, ample_booths(k, capacity)).meets_target, 1, max_officers
    )
    if officers is None:
        raise PlanningError(
            f"even {max_officers} officers do not bring the p95 wait under "
            f"{target_p95_wait_s:.0f} s"
        )
    booths = _smallest(
        lambda b: evaluate(officers, b).meets_target, 1, ample_booths(officers, capacity)
    )
    if booths is None:  # cannot happen: the ample count met the target above
        raise PlanningError("no booth count meets the target")
    fewer_officers = (
        evaluate(officers - 1, ample_booths(officers - 1, capacity)) if officers > 1 else None
    )
    fewer_booths = evaluate(officers, booths - 1) if booths > 1 else None
    return Plan(
        target_p95_wait_s=target_p95_wait_s,
        capacity=capacity,
        officers=officers,
        booths=booths,
        chosen=evaluate(officers, booths),
        one_officer_fewer=fewer_officers,
        one_booth_fewer=fewer_booths,
        evaluations=sorted(cache.values(), key=lambda e: (e.officers, e.booths)),
    )
