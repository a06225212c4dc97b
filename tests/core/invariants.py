"""The invariants of the design, as checks on a branch's state and on one step of the core.

`check_state` looks at a state on its own; `check_step` compares the state before and after one
accepted event with what the dispatcher said it did. Both raise AssertionError with a reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from booth_server.core.dispatcher import Result
from booth_server.core.model import BranchState, Session, booth_display_state


def routable(state: BranchState, session: Session) -> bool:
    booth = state.booths[session.booth_id]
    return booth.connected and booth.healthy and not booth.out_of_service


def check_state(state: BranchState, now: float) -> None:
    holders: Counter[str] = Counter()
    for officer in state.officers.values():
        where = f"officer {officer.id}"
        assert 1 <= officer.capacity <= 6, where
        assert officer.load <= officer.capacity, f"{where} holds {officer.load} > capacity"
        assert len(set(officer.sessions)) == len(officer.sessions), where
        assert len(set(officer.offers)) == len(officer.offers), where
        holders.update(officer.sessions)
        holders.update(officer.offers)
        for sid in officer.sessions:
            session = state.sessions.get(sid)
            assert session is not None, f"{where} holds ended session {sid}"
            assert (session.state, session.officer_id) == ("active", officer.id), (where, sid)
        for sid in officer.offers:
            session = state.sessions.get(sid)
            assert session is not None, f"{where} holds an offer of ended session {sid}"
            assert (session.state, session.officer_id) == ("offered", officer.id), (where, sid)
        if officer.focus is not None:
            assert officer.focus in officer.sessions, f"{where} focuses a session not its own"
            assert state.sessions[officer.focus].focused, where
        if officer.lost_at is not None:
            assert not officer.connected, f"{where} connected yet lost"
        if not officer.connected:
            assert officer.offers == [], f"{where} offline with pending offers"
    assert all(n == 1 for n in holders.values()), f"a session held twice: {holders}"

    booths_in_sessions: Counter[str] = Counter(s.booth_id for s in state.sessions.values())
    assert all(n == 1 for n in booths_in_sessions.values()), "a booth in two sessions"
    seqs = [s.seq for s in state.sessions.values()]
    assert len(set(seqs)) == len(seqs), "two sessions share a queue number"

    for booth in state.booths.values():
        where = f"booth {booth.id}"
        if booth.session_id is not None:
            session = state.sessions.get(booth.session_id)
            assert session is not None, f"{where} points at ended session {booth.session_id}"
            assert session.booth_id == booth.id, where
        if booth.lost_at is not None:
            assert not booth.connected, f"{where} connected yet lost"
        assert booth.last_display == booth_display_state(state, booth), (
            f"{where} displayed as {booth.last_display}, is {booth_display_state(state, booth)}"
        )

    for session in state.sessions.values():
        where = f"session {session.id} ({session.state})"
        booth = state.booths[session.booth_id]
        assert booth.session_id == session.id, f"{where}: its booth does not point back"
        assert session.seq < state.next_seq, where
        assert 0 <= session.priority <= 9, where
        # Nothing is stranded: a booth that is gone has a grace period running that will end it.
        if not booth.connected:
            assert booth.lost_at is not None, f"{where}: booth gone with no grace running"
        for officer_id, until in session.declined_until.items():
            assert officer_id in state.officers, where
            assert until > now, f"{where}: a stale decline cooldown"
        if session.focused:
            assert session.state == "active", where
            assert state.officers[session.officer_id or ""].focus == session.id, where
        if session.state == "queued":
            assert session.officer_id is None, where
            assert session.offer_expires_at is None, where
            assert holders[session.id] == 0, where
            assert not booth.out_of_service, f"{where}: waits for an out-of-service booth"
        elif session.state == "offered":
            officer = state.officers[session.officer_id or ""]
            assert session.id in officer.offers, where
            assert officer.connected, f"{where}: offered to an absent officer"
            assert session.offer_expires_at is not None and session.offer_expires_at > now, where
            assert not booth.out_of_service, where
        else:
            officer = state.officers[session.officer_id or ""]
            assert session.id in officer.sessions, where
            assert session.started_at is not None and session.first_started_at is not None, where
            assert not session.front, where
            if not officer.connected:
                assert officer.lost_at is not None, f"{where}: officer gone with no grace"

    # Work-conserving: a free, available officer never sits beside a session it could take,
    # unless they declined (or handed back) that one a moment ago.
    for officer in state.officers.values():
        if not (officer.connected and officer.mode == "available" and officer.free > 0):
            continue
        for session in state.queue():
            if routable(state, session):
                assert officer.id in session.declined_until, (
                    f"officer {officer.id} has {officer.free} free and is available, "
                    f"yet session {session.id} waits"
                )


def check_step(
    before: BranchState,
    after: BranchState,
    result: Result,
    plain_before: dict[str, Any] | None = None,
    plain_after: dict[str, Any] | None = None,
) -> None:
    """One accepted event took `before` to `after` and said `result` (the plain forms, when
    the caller already has them, save converting the states again)."""
    # The queue order of a session is fixed for its life, except for being put at the front.
    for sid, was in before.sessions.items():
        now = after.sessions.get(sid)
        if now is None:
            continue
        assert (now.seq, now.priority, now.created_at, now.booth_id) == (
            was.seq, was.priority, was.created_at, was.booth_id), f"session {sid} re-keyed"
        if now.state == "active":
            continue
        if was.state == "active":
            assert now.front, f"session {sid} left its officer but did not go to the front"
        else:
            assert now.front == was.front, f"session {sid} changed place on requeue"
    for entry in result.audit:
        if entry.event == "requeued" and entry.reason == "officer_lost" and entry.session_id:
            session = after.sessions.get(entry.session_id)
            assert session is None or session.front or session.state == "active"

    # Only routable booths are offered: connected, camera working, in service.
    for entry in result.audit:
        if entry.session_id and (
            entry.event == "offered"
            or (entry.event == "session_started" and entry.from_state == "queued")
        ):
            booth = after.booths[entry.booth_id or ""]
            assert booth.connected and booth.healthy and not booth.out_of_service, (
                f"session {entry.session_id} offered to unroutable booth {booth.id}"
            )
            # ... and never to an officer who declined (or handed back) that one a moment ago.
            declined = before.sessions.get(entry.session_id)
            until = declined.declined_until.get(entry.officer_id or "") if declined else None
            assert until is None or until <= entry.at, (
                f"session {entry.session_id} offered again to {entry.officer_id} in cooldown"
            )

    # No overtaking: a session offered this turn had nobody routable still waiting ahead of it
    # whom that officer could have taken.
    waiting = after.queue()
    for entry in result.audit:
        if entry.event != "offered" and not (
            entry.event == "session_started" and entry.from_state == "queued"
        ):
            continue
        taken = after.sessions.get(entry.session_id or "")
        if taken is None or taken.state == "queued":
            continue
        # Its place when it was taken: starting a session clears `front`, so rebuild it.
        earlier = before.sessions.get(taken.id)
        front = bool(earlier and earlier.state != "active" and earlier.front) or any(
            a.event == "requeued" and a.session_id == taken.id and a.from_state == "active"
            for a in result.audit
        )
        place = (0 if front else 1, -taken.priority, taken.seq)
        for ahead in waiting:
            if ahead.queue_key() < place and routable(after, ahead):
                assert entry.officer_id in ahead.declined_until, (
                    f"{entry.session_id} went to {entry.officer_id} ahead of {ahead.id}"
                )

    # Nothing is lost: whatever left the state ended on the record, with a reason.
    ended = set(before.sessions) - set(after.sessions)
    visits = Counter(v.session_id for v in result.visits)
    assert set(visits) == ended and all(n == 1 for n in visits.values()), (ended, visits)
    for visit in result.visits:
        assert visit.reason, visit
        was = before.sessions[visit.session_id]
        assert visit.booth_id == was.booth_id
        if visit.started_at is not None:
            assert visit.wait_s is not None and visit.wait_s >= 0
            assert visit.handle_s is not None and visit.handle_s >= 0
    ended_on_record = {
        a.session_id for a in result.audit if a.event == "session_ended" and a.reason
    }
    assert ended == ended_on_record, (ended, ended_on_record)
    for new_id in set(after.sessions) - set(before.sessions):
        assert any(a.event == "ready" and a.session_id == new_id for a in result.audit), new_id

    # Messages reach only the two parties of the session they are about.
    for message in result.outbound:
        about = message.data.get("session_id")
        assert isinstance(about, str), f"a {message.event} that names no session"
        session = after.sessions.get(about) or before.sessions.get(about)
        assert session is not None, f"{message.event} about unknown session {about}"
        if message.role == "booth":
            assert message.to == session.booth_id, (message, session.booth_id)
        else:
            assert message.role == "officer", message
            parties = {
                s.officer_id for s in (before.sessions.get(about), after.sessions.get(about)) if s
            } | {a.officer_id for a in result.audit if a.session_id == about}
            assert message.to in parties, (message, parties)

    # The store persists a turn when it says it changed: every change must say so.
    plain_before = dict(plain_before or before.to_dict())
    plain_after = dict(plain_after or after.to_dict())
    version_before, version_after = plain_before.pop("version"), plain_after.pop("version")
    if plain_before != plain_after:
        assert result.changed, "the state changed but the result says it did not"
    assert version_after == version_before + (1 if result.changed else 0)
