"""The figures a run produces, and how replications are pooled.

- visits per officer-hour: completed visits / (officers × hours on duty);
- participant queue wait: lobby (arrival → sitting in a booth) plus booth queue (`ready` →
  an officer's session starts), median and p95 over participants;
- idle inside a visit: time a participant in a live session waits for the officer, because
  the officer is with another booth (includes the officer's switch overhead);
- officer utilisation: share of on-duty time the officer's attention is taken;
- One-to-Many factor: live sessions per officer, averaged over on-duty time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class VisitRecord:
    session_id: str
    arrived_at: float
    seated_at: float
    ready_at: float
    started_at: float
    ended_at: float
    officer_id: str
    attention_s: float
    attention_wait_s: float
    switches: int
    documents: int

    @property
    def lobby_wait_s(self) -> float:
        return self.seated_at - self.arrived_at

    @property
    def booth_wait_s(self) -> float:
        return self.started_at - self.ready_at

    @property
    def wait_s(self) -> float:
        return self.lobby_wait_s + self.booth_wait_s

    @property
    def handle_s(self) -> float:
        return self.ended_at - self.started_at


@dataclass
class Integral:
    """The time integral of a piecewise-constant level, inside a window [start, end]."""

    start: float
    end: float
    level: float = 0.0
    last: float = 0.0
    area: float = 0.0

    def change(self, now: float, delta: float) -> None:
        lo, hi = max(self.last, self.start), min(now, self.end)
        if hi > lo:
            self.area += self.level * (hi - lo)
        self.level += delta
        self.last = now

    def close(self, now: float) -> float:
        self.change(now, 0.0)
        return self.area


@dataclass
class RunStats:
    """The figures of one simulated day."""

    officers: int
    booths: int
    capacity: int
    window_h: float
    visits: int
    visits_per_officer_hour: float
    wait_median_s: float
    wait_p95_s: float
    wait_mean_s: float
    lobby_wait_mean_s: float
    booth_wait_mean_s: float
    idle_in_visit_mean_s: float
    idle_in_visit_p95_s: float
    idle_share: float
    handle_mean_s: float
    utilisation: float
    one_to_many: float
    overrun_h: float
    waits: list[float] = field(repr=False, default_factory=list)
    idles: list[float] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["waits"], data["idles"]
        return data


def _q(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else math.nan


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def run_stats(
    records: list[VisitRecord],
    *,
    officers: int,
    booths: int,
    capacity: int,
    window_h: float,
    busy_s: float,
    live_s: float,
    overrun_h: float,
) -> RunStats:
    waits = [r.wait_s for r in records]
    idles = [r.attention_wait_s for r in records]
    handles = [r.handle_s for r in records]
    officer_s = officers * window_h * 3600.0
    total_handle = sum(handles)
    return RunStats(
        officers=officers,
        booths=booths,
        capacity=capacity,
        window_h=window_h,
        visits=len(records),
        visits_per_officer_hour=len(records) / (officers * window_h) if window_h > 0 else 0.0,
        wait_median_s=_q(waits, 0.5),
        wait_p95_s=_q(waits, 0.95),
        wait_mean_s=_mean(waits),
        lobby_wait_mean_s=_mean([r.lobby_wait_s for r in records]),
        booth_wait_mean_s=_mean([r.booth_wait_s for r in records]),
        idle_in_visit_mean_s=_mean(idles),
        idle_in_visit_p95_s=_q(idles, 0.95),
        idle_share=sum(idles) / total_handle if total_handle > 0 else 0.0,
        handle_mean_s=_mean(handles),
        utilisation=busy_s / officer_s if officer_s > 0 else 0.0,
        one_to_many=live_s / officer_s if officer_s > 0 else 0.0,
        overrun_h=overrun_h,
        waits=waits,
        idles=idles,
    )


@dataclass
class Summary:
    """Several replications of one configuration: means with a 95 % half-width for the
    per-day figures, pooled quantiles for the per-participant ones."""

    officers: int
    booths: int
    capacity: int
    replications: int
    visits: float
    visits_per_officer_hour: float
    visits_per_officer_hour_ci: float
    wait_median_s: float
    wait_p95_s: float
    wait_mean_s: float
    lobby_wait_mean_s: float
    booth_wait_mean_s: float
    idle_in_visit_mean_s: float
    idle_in_visit_p95_s: float
    idle_share: float
    handle_mean_s: float
    utilisation: float
    one_to_many: float
    overrun_h: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _half_width(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    return 1.96 * float(np.std(values, ddof=1)) / math.sqrt(len(values))


def summarise(runs: list[RunStats]) -> Summary:
    if not runs:
        raise ValueError("nothing to summarise")
    waits = [w for r in runs for w in r.waits]
    idles = [i for r in runs for i in r.idles]

    def mean_of(name: str) -> float:
        values = [float(getattr(r, name)) for r in runs]
        finite = [v for v in values if not math.isnan(v)]
        return float(np.mean(finite)) if finite else math.nan

    vpoh = [r.visits_per_officer_hour for r in runs]
    return Summary(
        officers=runs[0].officers,
        booths=runs[0].booths,
        capacity=runs[0].capacity,
        replications=len(runs),
        visits=mean_of("visits"),
        visits_per_officer_hour=float(np.mean(vpoh)),
        visits_per_officer_hour_ci=_half_width(vpoh),
        wait_median_s=_q(waits, 0.5),
        wait_p95_s=_q(waits, 0.95),
        wait_mean_s=_mean(waits),
        lobby_wait_mean_s=mean_of("lobby_wait_mean_s"),
        booth_wait_mean_s=mean_of("booth_wait_mean_s"),
        idle_in_visit_mean_s=_mean(idles),
        idle_in_visit_p95_s=_q(idles, 0.95),
        idle_share=mean_of("idle_share"),
        handle_mean_s=mean_of("handle_mean_s"),
        utilisation=mean_of("utilisation"),
        one_to_many=mean_of("one_to_many"),
        overrun_h=mean_of("overrun_h"),
    )
