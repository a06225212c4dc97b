"""Fit the simulator's durations from the server's own audit log, so a branch can replay its
real day with its real pace.

What the audit shows (per session, by `session_id`):

- `ready` → `session_started`: the booth queue wait (a result, not a parameter);
- `offered` → `session_started` by the officer: the officer's reaction time;
- `session_started` → first `document_requested`: greeting and identity check, plus the
  request of the first document;
- `document_reviewed` → next `document_requested`: requesting the next document;
- `document_requested` (or a rejection) → `document_uploaded` of that kind: capture at the
  kiosk, which needs no officer;
- `document_uploaded` → `document_reviewed` of that still: the review, including any wait for
  the officer's attention. At N = 1 that wait is zero; at N > 1 this is an upper bound;
- last `document_reviewed` → `session_ended` (completed): data entry, waiting for the claim
  system and closing;
- `session_started` → `session_ended`: the handling time.

Each is fitted as a lognormal by its mean and coefficient of variation. Phases the audit cannot
separate (greeting vs identity check; data entry vs claim processing vs closing) keep the
default proportions of the scenario and are scaled to the fitted total.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from booth_server.core.model import AuditEntry
from booth_server.simulate.params import (
    Arrivals,
    Booking,
    DocumentNeed,
    DocumentPhase,
    Duration,
    Scenario,
    SimplePhase,
)

AuditSource = str | Path | Iterable[AuditEntry | Mapping[str, Any]]


@dataclass(frozen=True)
class Fit:
    n: int
    mean: float
    cv: float
    median: float
    p95: float

    def duration(self) -> Duration:
        return Duration(dist="lognormal", mean=self.mean, cv=self.cv)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit(values: list[float]) -> Fit | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return Fit(
        n=len(arr),
        mean=mean,
        cv=sd / mean if mean > 0 else 0.0,
        median=float(np.median(arr)),
        p95=float(np.quantile(arr, 0.95)),
    )


@dataclass
class Calibration:
    sessions: int
    completed: int
    handle: Fit | None
    queue_wait: Fit | None
    reaction: Fit | None
    before_documents: Fit | None
    request: Fit | None
    capture: Fit | None
    review: Fit | None
    after_documents: Fit | None
    # Rejected reviews / all reviews, and rejections per document (session × kind): the
    # second, with the scenario's max_attempts, gives the reject probability per attempt.
    reject_rate: float | None
    rejections_per_document: float | None
    documents_per_visit: float | None
    document_share: dict[str, float]
    arrivals_per_hour: list[float]
    ready_at: list[float] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name == "ready_at":
                continue
            out[name] = value.to_dict() if isinstance(value, Fit) else value
        return out

    def apply(self, scenario: Scenario, *, replay_day: bool = False) -> Scenario:
        """The scenario with every duration the audit could fit replaced.

        `replay_day`: arrivals become the day's own `ready` times (a booking each), so the
        simulation replays that day; otherwise the fitted hourly rates."""
        phases: list[SimplePhase | DocumentPhase] = []
        doc_phase = next((p for p in scenario.visit.phases if isinstance(p, DocumentPhase)), None)
        request_mean = self.request.mean if self.request else (
            doc_phase.request.mean if doc_phase else 0.0
        )
        split = next(
            (i for i, p in enumerate(scenario.visit.phases) if isinstance(p, DocumentPhase)),
            len(scenario.visit.phases),
        )
        before = [p for p in scenario.visit.phases[:split] if isinstance(p, SimplePhase)]
        after = [p for p in scenario.visit.phases[split + 1:] if isinstance(p, SimplePhase)]

        def scale(group: list[SimplePhase], total: float | None) -> dict[str, float]:
            current = sum(p.duration.mean for p in group)
            if total is None or current <= 0:
                return {p.name: 1.0 for p in group}
            return {p.name: max(total, 0.0) / current for p in group}

        before_total = (
            self.before_documents.mean - (request_mean if doc_phase else 0.0)
            if self.before_documents else None
        )
        factors = scale(before, before_total)
        factors.update(scale(after, self.after_documents.mean if self.after_documents else None))
        for phase in scenario.visit.phases:
            if isinstance(phase, SimplePhase):
                phases.append(phase.model_copy(
                    update={"duration": phase.duration.scaled(factors.get(phase.name, 1.0))}
                ))
                continue
            update: dict[str, Any] = {}
            if self.request:
                update["request"] = self.request.duration()
            if self.capture:
                update["capture"] = self.capture.duration()
            if self.review:
                update["review"] = self.review.duration()
            if self.rejections_per_document is not None:
                update["reject_probability"] = reject_probability(
                    self.rejections_per_document, phase.max_attempts
                )
            if self.document_share:
                update["documents"] = tuple(
                    DocumentNeed.model_validate({"kind": kind, "probability": min(1.0, share)})
                    for kind, share in sorted(self.document_share.items())
                )
            phases.append(phase.model_copy(update=update))
        officer = scenario.officer
        if self.reaction:
            officer = officer.model_copy(update={"reaction": self.reaction.duration()})
        changes: dict[str, Any] = {
            "visit": scenario.visit.model_copy(update={"phases": tuple(phases)}).model_dump(),
            "officer": officer.model_dump(),
        }
        if replay_day and self.ready_at:
            changes["arrivals"] = Arrivals(
                mode="bookings", bookings=tuple(Booking(at=t) for t in self.ready_at)
            ).model_dump()
            changes["hours"] = max(scenario.hours, math.ceil(max(self.ready_at) / 3600.0))
        elif self.arrivals_per_hour:
            changes["arrivals"] = Arrivals(per_hour=tuple(self.arrivals_per_hour)).model_dump()
            changes["hours"] = float(len(self.arrivals_per_hour))
        return scenario.with_(**changes)


def reject_probability(rejections_per_document: float, max_attempts: int) -> float:
    """The per-attempt reject probability p with 1 + p + … + p^(m-1) − 1 rejections per
    document on average (the last allowed attempt is always approved)."""
    def extra(p: float) -> float:
        return sum(p**k for k in range(1, max_attempts))

    if max_attempts <= 1 or rejections_per_document <= 0:
        return 0.0
    lo, hi = 0.0, 0.95
    if extra(hi) <= rejections_per_document:
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if extra(mid) < rejections_per_document:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


_FIELDS = ("at", "event", "session_id", "actor", "reason", "booth_id", "officer_id",
           "from_state", "to_state")


def load_audit(source: AuditSource) -> list[dict[str, Any]]:
    """Audit entries from a JSON-lines file (or a JSON array), or from AuditEntry objects or
    dicts; sorted by time. Only the fields the calibration reads are kept."""
    raw: Iterable[AuditEntry | Mapping[str, Any]]
    if isinstance(source, str | Path):
        text = Path(source).read_text(encoding="utf-8").strip()
        if text.startswith("["):
            raw = json.loads(text)
        else:
            raw = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        raw = source
    entries: list[dict[str, Any]] = []
    for item in raw:
        data = item.to_dict() if isinstance(item, AuditEntry) else dict(item)
        if "at" not in data or "event" not in data:
            raise ValueError(f"an audit entry needs `at` and `event`: {data!r}")
        entry = {k: data.get(k) for k in _FIELDS}
        entry["at"] = float(data["at"])
        entries.append(entry)
    entries.sort(key=lambda e: e["at"])
    return entries


def _doc_parts(reason: str | None) -> list[str]:
    return (reason or "").split(":")


def calibrate(source: AuditSource) -> Calibration:
    entries = load_audit(source)
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if entry["session_id"]:
            by_session[entry["session_id"]].append(entry)

    handle: list[float] = []
    queue_wait: list[float] = []
    reaction: list[float] = []
    before: list[float] = []
    request: list[float] = []
    capture: list[float] = []
    review: list[float] = []
    after: list[float] = []
    reviews = rejections = completed = documents = 0
    kinds_per_visit: list[int] = []
    kind_count: dict[str, int] = defaultdict(int)
    ready_at: list[float] = []

    for items in by_session.values():
        ready = next((e["at"] for e in items if e["event"] == "ready"), None)
        if ready is not None:
            ready_at.append(ready)
        started = next((e for e in items if e["event"] == "session_started"), None)
        if started is None:
            continue
        if ready is not None:
            queue_wait.append(started["at"] - ready)
        offered = [e for e in items if e["event"] == "offered" and e["at"] <= started["at"]]
        if offered and started["actor"] != "auto_accept":
            reaction.append(started["at"] - offered[-1]["at"])
        ended = next(
            (e for e in items if e["event"] == "session_ended" and e["reason"] == "completed"),
            None,
        )
        # Document timings: follow each kind from its request through captures and reviews.
        last_request: dict[str, float] = {}
        last_rejection: dict[str, float] = {}
        uploaded: dict[str, float] = {}
        kind_of: dict[str, str] = {}
        first_request: float | None = None
        last_review: float | None = None
        kinds: set[str] = set()
        for entry in items:
            parts = _doc_parts(entry["reason"])
            if entry["event"] == "document_requested":
                kind = parts[0]
                kinds.add(kind)
                last_request[kind] = entry["at"]
                if first_request is None:
                    first_request = entry["at"]
                elif last_review is not None:
                    request.append(entry["at"] - last_review)
            elif entry["event"] == "document_uploaded" and len(parts) >= 2:
                kind, doc_id = parts[0], parts[1]
                since = last_rejection.pop(kind, None)
                if since is None:
                    since = last_request.pop(kind, None)
                if since is not None:
                    capture.append(entry["at"] - since)
                uploaded[doc_id] = entry["at"]
                kind_of[doc_id] = kind
                kinds.add(kind)
            elif entry["event"] == "document_reviewed" and len(parts) >= 2:
                status, doc_id = parts[0], parts[1]
                at_upload = uploaded.pop(doc_id, None)
                if at_upload is not None:
                    review.append(entry["at"] - at_upload)
                reviews += 1
                last_review = entry["at"]
                if status == "rejected":
                    rejections += 1
                    # The kiosk retakes the same kind of document: its capture starts now.
                    retake = kind_of.get(doc_id)
                    if retake:
                        last_rejection[retake] = entry["at"]
        if ended is None:
            continue
        completed += 1
        handle.append(ended["at"] - started["at"])
        if first_request is not None:
            before.append(first_request - started["at"])
        if last_review is not None:
            after.append(ended["at"] - last_review)
        kinds_per_visit.append(len(kinds))
        documents += len(kinds)
        for kind in kinds:
            kind_count[kind] += 1

    hours: list[float] = []
    if ready_at:
        origin = min(ready_at)
        ready_rel = sorted(t - origin for t in ready_at)
        n_hours = int(ready_rel[-1] // 3600) + 1
        hours = [0.0] * n_hours
        for t in ready_rel:
            hours[int(t // 3600)] += 1.0
    else:
        ready_rel = []
    return Calibration(
        sessions=len(by_session),
        completed=completed,
        handle=fit(handle),
        queue_wait=fit(queue_wait),
        reaction=fit(reaction),
        before_documents=fit(before),
        request=fit(request),
        capture=fit(capture),
        review=fit(review),
        after_documents=fit(after),
        reject_rate=rejections / reviews if reviews else None,
        rejections_per_document=rejections / documents if documents else None,
        documents_per_visit=float(np.mean(kinds_per_visit)) if kinds_per_visit else None,
        document_share={k: v / completed for k, v in kind_count.items()} if completed else {},
        arrivals_per_hour=hours,
        ready_at=ready_rel,
    )

