"""Today's figures for ops: pure functions over the audit log, the visits and the occupancy.

Nothing here reads a clock, a socket or a store. The transport (`transport/stats_api.py`)
fetches the entries and calls these functions with an explicit `now`, so the figures are the
same whichever process computes them and survive restarts: the audit log in the store is the
only memory they need.

Definitions (also in docs/protocol.md):
- A visit counts when it *ended* at or after `since`. Waiting time is first start minus ready,
  handling time is end minus first start, both over every visit that got an officer (the same
  population as the `lapak_waiting_time_seconds` / `lapak_handling_time_seconds` histograms).
- An officer is *working* while connected and not paused (`available` or `not_responding`).
- The One-to-Many factor is the time-average of the officer's live sessions over their working
  time; for a branch (or all branches) it is the sum of live-session-seconds while working over
  the sum of working seconds.
- Claims per officer-hour: completed visits with outcome `claim_submitted` per working hour.
- The state at `since` is taken from each booth's, session's and officer's first entry after
  it (its `from_state`), or, for one without any entry in the window, from the current state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from booth_server.core.model import AuditEntry, BranchState, Visit

Severity = Literal["critical", "warning", "info"]

SESSION_EVENTS = frozenset({
    "ready", "offered", "session_started", "requeued", "session_ended", "transferred",
    "document_requested", "document_uploaded", "document_reviewed",
})
OFFICER_EVENTS = frozenset({"officer_connected", "officer_disconnected", "officer_status"})
SESSION_STATES = frozenset({"queued", "offered", "active"})
MAX_POINTS = 5000


def local_midnight(now: float) -> float:
    """The start of the local (server time zone) day that contains `now`."""
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between the closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


# ---------------------------------------------------------------------------------- replay


@dataclass
class _Officer:
    connected: bool
    mode: str

    @property
    def working(self) -> bool:
        return self.connected and self.mode != "paused"


@dataclass
class OfficerTime:
    """What the replay measured for one officer in the window."""

    officer_id: str
    working_s: float = 0.0
    session_s: float = 0.0  # live-session-seconds while working

    @property
    def factor(self) -> float | None:
        return self.session_s / self.working_s if self.working_s > 0 else None


@dataclass
class Timeline:
    """The replayed window of one branch: officer times and the occupancy/queue steps."""

    since: float
    until: float
    officers: dict[str, OfficerTime] = field(default_factory=dict)
    # (time, booths in session, queue length) at every change, starting at `since`.
    steps: list[tuple[float, int, int]] = field(default_factory=list)


def _initial_session_states(
    entries: Sequence[AuditEntry], current: BranchState | None
) -> tuple[dict[str, str], set[str]]:
    """Who held which live session at `since`, and which sessions were queued then."""
    first: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.session_id is None or entry.event not in SESSION_EVENTS:
            continue
        if entry.session_id not in first and (
            entry.event == "ready" or entry.from_state in SESSION_STATES
        ):
            first[entry.session_id] = entry
    holders: dict[str, str] = {}
    queue: set[str] = set()
    for session_id, entry in first.items():
        if entry.from_state == "active" and entry.officer_id:
            holders[session_id] = entry.officer_id
        elif entry.from_state == "queued":
            queue.add(session_id)
    if current is not None:
        for session in current.sessions.values():
            if session.id in first:
                continue
            # No entry in the window: it has been in its current state all along.
            if session.state == "active" and session.officer_id:
                holders[session.id] = session.officer_id
            elif session.state == "queued":
                queue.add(session.id)
    return holders, queue


def _initial_officers(
    entries: Sequence[AuditEntry], current: BranchState | None
) -> dict[str, _Officer]:
    connected: dict[str, bool] = {}
    mode: dict[str, str] = {}
    for entry in entries:
        officer_id = entry.officer_id
        if officer_id is None or entry.event not in OFFICER_EVENTS:
            continue
        if entry.event == "officer_connected":
            connected.setdefault(officer_id, False)
            mode.setdefault(officer_id, entry.to_state or "available")
        elif entry.event == "officer_disconnected":
            connected.setdefault(officer_id, True)
            mode.setdefault(officer_id, entry.from_state or "available")
        else:
            mode.setdefault(officer_id, entry.from_state or "available")
    officers: dict[str, _Officer] = {}
    known = set(connected) | set(mode)
    if current is not None:
        known |= set(current.officers)
    for officer_id in sorted(known):
        now_state = current.officers.get(officer_id) if current is not None else None
        officers[officer_id] = _Officer(
            connected=connected.get(
                officer_id, now_state.connected if now_state is not None else False
            ),
            mode=mode.get(officer_id, now_state.mode if now_state is not None else "available"),
        )
    return officers


def replay(
    entries: Sequence[AuditEntry],
    since: float,
    now: float,
    current: BranchState | None = None,
) -> Timeline:
    """Rebuild one branch's officers, live sessions and queue from `since` to `now`.

    `entries` are the branch's audit entries at or after `since`, in commit order; `current`
    is the branch's state now (used for whatever has no entry in the window)."""
    entries = [e for e in entries if since <= e.at <= now]
    holders, queue = _initial_session_states(entries, current)
    officers = _initial_officers(entries, current)
    times = {o: OfficerTime(o) for o in officers}
    timeline = Timeline(since=since, until=now, officers=times)
    held: dict[str, set[str]] = {o: set() for o in officers}
    for session_id, officer_id in holders.items():
        held.setdefault(officer_id, set()).add(session_id)

    def officer(officer_id: str) -> _Officer:
        if officer_id not in officers:
            officers[officer_id] = _Officer(connected=False, mode="available")
            times[officer_id] = OfficerTime(officer_id)
            held.setdefault(officer_id, set())
        return officers[officer_id]

    def release(session_id: str) -> None:
        holder = holders.pop(session_id, None)
        if holder is not None:
            held[holder].discard(session_id)

    def record(at: float) -> None:
        point = (at, len(holders), len(queue))
        steps = timeline.steps
        if steps and steps[-1][0] == at and len(steps) > 1:
            steps.pop()  # several entries at one instant: only the last state holds
        if not steps or steps[-1][1:] != point[1:] or steps[-1][0] == at:
            if steps and steps[-1][0] == at:
                steps.pop()
            steps.append(point)

    clock = since
    record(since)
    for entry in entries:
        # Commit order rules; a clock a little behind another process's must not run back.
        at = max(clock, entry.at)
        _accumulate(officers, held, times, at - clock)
        clock = at
        sid = entry.session_id
        if entry.event == "ready" and sid:
            queue.add(sid)
        elif entry.event == "offered" and sid:
            queue.discard(sid)
        elif entry.event == "session_started" and sid and entry.officer_id:
            queue.discard(sid)
            release(sid)
            officer(entry.officer_id)
            holders[sid] = entry.officer_id
            held[entry.officer_id].add(sid)
        elif entry.event == "transferred" and sid:
            release(sid)
        elif entry.event == "requeued" and sid:
            release(sid)
            queue.add(sid)
        elif entry.event == "session_ended" and sid:
            release(sid)
            queue.discard(sid)
        elif entry.event == "officer_connected" and entry.officer_id:
            o = officer(entry.officer_id)
            o.connected = True
            o.mode = entry.to_state or o.mode
        elif entry.event == "officer_disconnected" and entry.officer_id:
            officer(entry.officer_id).connected = False
        elif entry.event == "officer_status" and entry.officer_id:
            officer(entry.officer_id).mode = entry.to_state or "available"
        record(at)
    _accumulate(officers, held, times, max(0.0, now - clock))
    return timeline


def _accumulate(
    officers: dict[str, _Officer],
    held: dict[str, set[str]],
    times: dict[str, OfficerTime],
    dt: float,
) -> None:
    if dt <= 0:
        return
    for officer_id, state in officers.items():
        if state.working:
            times[officer_id].working_s += dt
            times[officer_id].session_s += len(held.get(officer_id, ())) * dt


# ---------------------------------------------------------------------------------- series


@dataclass(frozen=True)
class Series:
    """One point per `step_s` from `start`: the peak of each quantity within that step."""

    start: float
    step_s: float
    in_session: tuple[int, ...]
    queue: tuple[int, ...]

    @property
    def at(self) -> tuple[float, ...]:
        return tuple(self.start + i * self.step_s for i in range(len(self.queue)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "step_s": self.step_s,
            "at": list(self.at),
            "in_session": list(self.in_session),
            "queue": list(self.queue),
        }


def choose_step(since: float, now: float, step_s: float) -> float:
    """`step_s`, widened so the window has at most MAX_POINTS points."""
    span = max(0.0, now - since)
    return max(step_s, math.ceil(span / MAX_POINTS)) if span > step_s * MAX_POINTS else step_s


def series(timeline: Timeline, step_s: float) -> Series:
    """Peak booths-in-session and queue length per step (a one-minute visit still shows)."""
    since, until = timeline.since, timeline.until
    count = max(1, math.floor((until - since) / step_s) + 1)
    in_session = [0] * count
    queue = [0] * count
    steps = timeline.steps or [(since, 0, 0)]
    for index, (at, occupied, queued) in enumerate(steps):
        end = steps[index + 1][0] if index + 1 < len(steps) else until
        first = min(count - 1, int((at - since) // step_s))
        # The value holds on [at, end): every step it overlaps sees it.
        last = first if end <= at else min(count - 1, math.ceil((end - since) / step_s) - 1)
        for i in range(first, max(first, last) + 1):
            in_session[i] = max(in_session[i], occupied)
            queue[i] = max(queue[i], queued)
    return Series(since, step_s, tuple(in_session), tuple(queue))


def sum_series(all_series: Sequence[Series]) -> Series:
    """Branches' series added point by point (same start and step)."""
    if not all_series:
        raise ValueError("no series to add")
    first = all_series[0]
    length = min(len(s.queue) for s in all_series)
    return Series(
        first.start,
        first.step_s,
        tuple(sum(s.in_session[i] for s in all_series) for i in range(length)),
        tuple(sum(s.queue[i] for s in all_series) for i in range(length)),
    )


# ---------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    visits_completed: int
    visits_ended: int
    outcomes: dict[str, int]
    ended_by_reason: dict[str, int]
    wait_median_s: float | None
    wait_p95_s: float | None
    handle_median_s: float | None
    one_to_many_factor: float | None
    working_officer_hours: float
    claims_submitted: int
    claims_per_officer_hour: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "visits_completed": self.visits_completed,
            "visits_ended": self.visits_ended,
            "outcomes": dict(self.outcomes),
            "ended_by_reason": dict(self.ended_by_reason),
            "wait_median_s": _round(self.wait_median_s),
            "wait_p95_s": _round(self.wait_p95_s),
            "handle_median_s": _round(self.handle_median_s),
            "one_to_many_factor": _round(self.one_to_many_factor, 2),
            "working_officer_hours": round(self.working_officer_hours, 3),
            "claims_submitted": self.claims_submitted,
            "claims_per_officer_hour": _round(self.claims_per_officer_hour, 2),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def figures(visits: Iterable[Visit], officer_times: Iterable[OfficerTime]) -> Figures:
    """The day's figures from finished visits and the officers' replayed times."""
    rows = list(visits)
    completed = [v for v in rows if v.reason == "completed"]
    outcomes: dict[str, int] = {}
    for visit in completed:
        key = visit.outcome or "other"
        outcomes[key] = outcomes.get(key, 0) + 1
    reasons: dict[str, int] = {}
    for visit in rows:
        reasons[visit.reason] = reasons.get(visit.reason, 0) + 1
    waits = [v.wait_s for v in rows if v.wait_s is not None]
    handles = [v.handle_s for v in rows if v.handle_s is not None]
    times = list(officer_times)
    working_s = sum(t.working_s for t in times)
    session_s = sum(t.session_s for t in times)
    claims = outcomes.get("claim_submitted", 0)
    hours = working_s / 3600.0
    return Figures(
        visits_completed=len(completed),
        visits_ended=len(rows),
        outcomes=outcomes,
        ended_by_reason=reasons,
        wait_median_s=percentile(waits, 50),
        wait_p95_s=percentile(waits, 95),
        handle_median_s=percentile(handles, 50),
        one_to_many_factor=session_s / working_s if working_s > 0 else None,
        working_officer_hours=hours,
        claims_submitted=claims,
        claims_per_officer_hour=claims / hours if hours > 0 else None,
    )


def officer_figures(
    officer_id: str, name: str, time: OfficerTime | None, visits: Iterable[Visit]
) -> dict[str, Any]:
    mine = [v for v in visits if v.officer_id == officer_id]
    completed = [v for v in mine if v.reason == "completed"]
    claims = sum(1 for v in completed if v.outcome == "claim_submitted")
    working_s = time.working_s if time else 0.0
    return {
        "id": officer_id,
        "name": name,
        "working_s": round(working_s, 1),
        "one_to_many_factor": _round(time.factor if time else None, 2),
        "visits_completed": len(completed),
        "claims_submitted": claims,
        "claims_per_officer_hour": round(claims / (working_s / 3600.0), 2)
        if working_s > 0 else None,
        "handle_median_s": _round(percentile(
            [v.handle_s for v in mine if v.handle_s is not None], 50)),
    }


# ---------------------------------------------------------------------------------- alerts


def _alert(
    kind: str,
    severity: Severity,
    branch: str,
    since: float,
    *,
    booth_id: str | None = None,
    officer_id: str | None = None,
    session_id: str | None = None,
    label: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    subject = booth_id or officer_id or session_id or branch
    return {
        "id": f"{kind}:{branch}:{subject}",
        "kind": kind,
        "severity": severity,
        "branch": branch,
        "since": since,
        "booth_id": booth_id,
        "officer_id": officer_id,
        "session_id": session_id,
        "label": label,
        "detail": detail or {},
    }


SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


def alerts(
    occupancy: dict[str, Any], now: float, *, wait_alert_s: float, store_ok: bool = True
) -> list[dict[str, Any]]:
    """What needs an ops person now, most severe first, from the occupancy body.

    - `store_unavailable` (critical): the state store does not answer;
    - `booth_offline` (critical with a live session stranded, else warning): a booth that is
      not out of service is not connected;
    - `booth_faulty` (warning): a booth reports a camera fault;
    - `long_wait` (warning; critical past twice the threshold): a queued participant waited
      longer than `dispatch.wait_alert_s`;
    - `officer_not_responding` (critical): an offer expired unanswered;
    - `officer_lost` (warning): an officer dropped while holding live sessions."""
    found: list[dict[str, Any]] = []
    if not store_ok:
        found.append(_alert("store_unavailable", "critical", "*", now))
    for branch in occupancy.get("branches", []):
        bid = branch["id"]
        for booth in branch["booths"]:
            label = booth.get("label")
            if booth["state"] == "out_of_service":
                continue
            if not booth.get("connected", booth["state"] != "offline"):
                stranded = booth.get("session_id") is not None
                found.append(_alert(
                    "booth_offline", "critical" if stranded else "warning", bid,
                    booth["since"], booth_id=booth["id"], label=label,
                    session_id=booth.get("session_id"),
                ))
            elif booth.get("healthy") is False:
                found.append(_alert("booth_faulty", "warning", bid, booth["since"],
                                    booth_id=booth["id"], label=label))
        for entry in branch["queue"].get("entries", []):
            wait = float(entry["wait_s"])
            if wait > wait_alert_s:
                found.append(_alert(
                    "long_wait", "critical" if wait > 2 * wait_alert_s else "warning", bid,
                    now - wait, booth_id=entry["booth_id"], session_id=entry["session_id"],
                    label=entry.get("ticket"),
                    detail={"wait_s": round(wait, 1), "threshold_s": wait_alert_s},
                ))
        for officer in branch["officers"]:
            if officer["status"] == "not_responding":
                found.append(_alert("officer_not_responding", "critical", bid,
                                    officer.get("since", now), officer_id=officer["id"],
                                    label=officer.get("name")))
            elif officer["status"] == "offline" and officer.get("sessions", 0) > 0:
                found.append(_alert("officer_lost", "warning", bid, officer.get("since", now),
                                    officer_id=officer["id"], label=officer.get("name"),
                                    detail={"sessions": officer["sessions"]}))
    found.sort(key=lambda a: (SEVERITY_ORDER[a["severity"]], a["branch"] != "*", a["since"],
                              a["id"]))
    return found


def current_factor(branch: dict[str, Any]) -> float | None:
    """Live sessions per working officer right now, from one branch of the occupancy body."""
    working = [o for o in branch["officers"] if o["status"] in ("available", "not_responding")]
    if not working:
        return None
    return sum(int(o.get("sessions", 0)) for o in working) / len(working)
