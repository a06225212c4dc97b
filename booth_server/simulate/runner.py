"""Repeated runs: replications of one configuration, the N = 1 … 6 sweep, and the experiment
that varies the share of a visit needing the officer's attention.

Replication r of every configuration uses the same random streams (common random numbers):
the same participants arrive with the same needs whatever N is, so the differences between
rows come from One to Many, not from luck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from booth_server.simulate.engine import simulate
from booth_server.simulate.metrics import RunStats, Summary, summarise
from booth_server.simulate.params import Scenario

Progress = Callable[[int], None]


def _noop(_: int) -> None:
    return None


def replicate(
    scenario: Scenario,
    *,
    seed: int = 0,
    replications: int = 5,
    progress: Progress = _noop,
) -> tuple[Summary, list[RunStats]]:
    runs: list[RunStats] = []
    for r in range(replications):
        runs.append(simulate(scenario, seed, replication=r).stats)
        progress(1)
    return summarise(runs), runs


def at_capacity(scenario: Scenario, capacity: int) -> Scenario:
    """The scenario with officers holding `capacity` sessions; booths follow (officers × N)
    unless the scenario fixes them."""
    return scenario.with_(capacity=capacity)


@dataclass
class SweepRow:
    capacity: int
    day: Summary | None
    saturated: Summary | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "day": self.day.to_dict() if self.day else None,
            "saturated": self.saturated.to_dict() if self.saturated else None,
        }


def sweep(
    scenario: Scenario,
    capacities: Iterable[int] = range(1, 7),
    *,
    seed: int = 0,
    replications: int = 5,
    day: bool = True,
    saturated: bool = True,
    progress: Progress = _noop,
) -> list[SweepRow]:
    """For each N: the scenario's day (its arrivals) and, for the capacity figures, the same
    branch with a lobby that never empties."""
    rows: list[SweepRow] = []
    for n in capacities:
        at_n = at_capacity(scenario, n)
        day_summary = (
            replicate(at_n, seed=seed, replications=replications, progress=progress)[0]
            if day and at_n.arrivals.mode != "saturated"
            else None
        )
        sat_summary = (
            replicate(at_n.saturated(), seed=seed, replications=replications,
                      progress=progress)[0]
            if saturated or at_n.arrivals.mode == "saturated"
            else None
        )
        rows.append(SweepRow(n, day_summary, sat_summary))
    return rows


def sweep_runs(capacities: Sequence[int], replications: int, day: bool, saturated: bool) -> int:
    return len(capacities) * replications * (int(day) + int(saturated))


def gains(rows: Sequence[SweepRow]) -> dict[int, float]:
    """Capacity (saturated visits per officer-hour) at each N over N = 1."""
    base = next((r for r in rows if r.capacity == 1 and r.saturated), None)
    if base is None or base.saturated is None:
        return {}
    one = base.saturated.visits_per_officer_hour
    return {
        r.capacity: r.saturated.visits_per_officer_hour / one
        for r in rows
        if r.saturated is not None and one > 0
    }


@dataclass
class ShareRow:
    """The capacity gain over N = 1 when `share` of each visit needs the officer."""

    share: float
    per_officer_hour: dict[int, float]
    gain: dict[int, float]
    utilisation: dict[int, float]
    idle_share: dict[int, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "attention_share": self.share,
            "visits_per_officer_hour": self.per_officer_hour,
            "gain_over_n1": self.gain,
            "utilisation": self.utilisation,
            "idle_share": self.idle_share,
        }


def share_sweep(
    scenario: Scenario,
    shares: Sequence[float],
    capacities: Sequence[int] = (1, 2, 3, 4, 5, 6),
    *,
    seed: int = 0,
    replications: int = 3,
    progress: Progress = _noop,
) -> list[ShareRow]:
    """Same mean visit length, attention share varied: where does N-fold stop holding?"""
    out: list[ShareRow] = []
    for share in shares:
        varied = scenario.with_(visit=scenario.visit.with_attention_share(share).model_dump())
        rows = sweep(varied, capacities, seed=seed, replications=replications, day=False,
                     progress=progress)
        sat = {r.capacity: r.saturated for r in rows if r.saturated is not None}
        out.append(
            ShareRow(
                share=share,
                per_officer_hour={n: s.visits_per_officer_hour for n, s in sat.items()},
                gain=gains(rows),
                utilisation={n: s.utilisation for n, s in sat.items()},
                idle_share={n: s.idle_share for n, s in sat.items()},
            )
        )
    return out
