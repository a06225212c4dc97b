"""The One-to-Many dispatcher: a sans-IO state machine for one branch.

`Dispatcher.handle(state, event, now)` checks the event against the state, changes the state in
place and returns what must be said to whom (`Outbound`), what goes to the audit log and which
visits ended. It never reads a clock, a socket or a store: the server, the tests and the branch
simulator all drive this same code, each with its own `now`.

An event that is refused raises `ApiError` before anything is changed, so a store can keep the
state it had. Every accepted event ends with a dispatch pass: queued sessions, in order, are
offered to the available officer with the most free capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from booth_server.core import events as ev
from booth_server.core.model import (
    DOCUMENT_KINDS,
    OUTCOMES,
    AuditEntry,
    Booth,
    BranchState,
    DocumentRecord,
    Officer,
    Session,
    Visit,
    booth_display_state,
)
from booth_server.core.views import booth_ref, session_view
from booth_server.errors import ApiError, ErrorCode

E = TypeVar("E")


@dataclass(frozen=True)
class Policy:
    offer_timeout_s: float = 15.0
    officer_grace_s: float = 20.0
    booth_grace_s: float = 20.0
    # A declined session is not offered to the same officer again for this long.
    decline_cooldown_s: float = 60.0


@dataclass(frozen=True)
class Outbound:
    """A message for one party: role is "booth", "officer" or "ops"; id is theirs. `conn` is
    the party's live connection when the turn ended (None when not connected), so a transport
    can hand it straight to that socket when it holds it."""

    role: str
    to: str
    event: str
    data: dict[str, Any]
    conn: str | None = None


@dataclass
class Result:
    reply: dict[str, Any] = field(default_factory=dict)
    outbound: list[Outbound] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    changed: bool = False
    # The branch's earliest deadline after this event (`Dispatcher.next_deadline`), so the
    # caller's timer needs no second read of the state.
    deadline: float | None = None


class _Turn:
    """What one event produces, gathered while the handlers run."""

    def __init__(self, state: BranchState, now: float) -> None:
        self.state = state
        self.now = now
        self.result = Result()
        self.touched_booths: set[str] = set()

    def send(self, role: str, to: str, event: str, data: dict[str, Any]) -> None:
        self.result.outbound.append(Outbound(role, to, event, data))

    def audit(
        self,
        actor: str,
        event: str,
        session: Session | None,
        from_state: str | None,
        to_state: str | None,
        reason: str | None = None,
        *,
        booth_id: str | None = None,
        officer_id: str | None = None,
    ) -> None:
        self.result.changed = True
        self.result.audit.append(
            AuditEntry(
                at=self.now,
                branch=self.state.id,
                actor=actor,
                event=event,
                session_id=session.id if session else None,
                from_state=from_state,
                to_state=to_state,
                reason=reason,
                booth_id=booth_id or (session.booth_id if session else None),
                officer_id=officer_id or (session.officer_id if session else None),
            )
        )


def _fail(code: ErrorCode, message: str) -> ApiError:
    return ApiError(code, message)


class Dispatcher:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self._handlers: dict[type[Any], Callable[[_Turn, Any], None]] = {
            ev.BoothConnected: self._booth_connected,
            ev.BoothDisconnected: self._booth_disconnected,
            ev.BoothReady: self._booth_ready,
            ev.BoothCancel: self._booth_cancel,
            ev.BoothHealth: self._booth_health,
            ev.OfficerConnected: self._officer_connected,
            ev.OfficerDisconnected: self._officer_disconnected,
            ev.SetStatus: self._set_status,
            ev.Accept: self._accept,
            ev.Decline: self._decline,
            ev.Focus: self._focus,
            ev.RequestDocument: self._request_document,
            ev.DocumentUploaded: self._document_uploaded,
            ev.ReviewDocument: self._review_document,
            ev.Complete: self._complete,
            ev.Transfer: self._transfer,
            ev.SetOutOfService: self._set_out_of_service,
            ev.Tick: self._tick,
        }

    # ------------------------------------------------------------------ public surface

    def handle(self, state: BranchState, event: ev.Event, now: float) -> Result:
        turn = _Turn(state, now)
        self._handlers[type(event)](turn, event)
        self._expire(turn)
        self._dispatch(turn)
        self._refresh_positions(turn)
        self._refresh_booth_since(turn)
        if turn.result.changed:
            state.version += 1
        turn.result.deadline = self.next_deadline(state)
        turn.result.outbound = [
            replace(m, conn=self._conn_of(state, m.role, m.to)) for m in turn.result.outbound
        ]
        return turn.result

    @staticmethod
    def _conn_of(state: BranchState, role: str, party_id: str) -> str | None:
        party: Booth | Officer | None
        if role == "booth":
            party = state.booths.get(party_id)
        elif role == "officer":
            party = state.officers.get(party_id)
        else:
            return None
        return party.conn if party is not None and party.connected else None

    def next_deadline(self, state: BranchState) -> float | None:
        """The earliest time at which a `Tick` would change something."""
        times: list[float] = []
        for session in state.sessions.values():
            if session.offer_expires_at is not None:
                times.append(session.offer_expires_at)
            for until in session.declined_until.values():
                times.append(until)
        for officer in state.officers.values():
            if officer.lost_at is not None:
                times.append(officer.lost_at + self.policy.officer_grace_s)
        for booth in state.booths.values():
            if booth.lost_at is not None:
                times.append(booth.lost_at + self.policy.booth_grace_s)
        return min(times) if times else None

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def _booth(turn: _Turn, booth_id: str) -> Booth:
        booth = turn.state.booths.get(booth_id)
        if booth is None:
            raise _fail(ErrorCode.NOT_FOUND, f"booth_id: no booth {booth_id!r} in this branch")
        return booth

    @staticmethod
    def _officer(turn: _Turn, officer_id: str) -> Officer:
        officer = turn.state.officers.get(officer_id)
        if officer is None:
            raise _fail(
                ErrorCode.NOT_FOUND, f"officer_id: no officer {officer_id!r} in this branch"
            )
        return officer

    @staticmethod
    def _officer_session(turn: _Turn, officer: Officer, session_id: str) -> Session:
        session = turn.state.sessions.get(session_id)
        if session is None or session.officer_id != officer.id:
            raise _fail(
                ErrorCode.NOT_FOUND, f"session_id: no session {session_id!r} of this officer"
            )
        return session

    @staticmethod
    def _booth_session(turn: _Turn, booth: Booth, session_id: str) -> Session:
        session = turn.state.sessions.get(session_id)
        if session is None or session.booth_id != booth.id:
            raise _fail(ErrorCode.NOT_FOUND, f"session_id: no session {session_id!r} of this booth")
        return session

    # ------------------------------------------------------------------ shared transitions

    def _position(self, turn: _Turn, session: Session) -> int:
        queue = turn.state.queue()
        for index, queued in enumerate(queue):
            if queued.id == session.id:
                return index + 1
        return 0

    def _estimated_wait(self, turn: _Turn, position: int) -> float:
        working = [
            o for o in turn.state.officers.values() if o.connected and o.mode == "available"
        ]
        capacity = sum(o.capacity for o in working) or 1
        return round(position * turn.state.mean_handle_s / capacity, 1)

    def _queued_message(self, turn: _Turn, session: Session, position: int) -> None:
        session.sent_position = position
        turn.send(
            "booth",
            session.booth_id,
            "queued",
            {
                "session_id": session.id,
                "position": position,
                "estimated_wait_s": self._estimated_wait(turn, position),
            },
        )

    def _start_session(self, turn: _Turn, session: Session, officer: Officer, actor: str) -> None:
        previous = session.state
        if session.id in officer.offers:
            officer.offers.remove(session.id)
        if session.id not in officer.sessions:
            officer.sessions.append(session.id)
        session.state = "active"
        session.officer_id = officer.id
        session.offer_expires_at = None
        session.started_at = turn.now
        if session.first_started_at is None:
            session.first_started_at = turn.now
        session.focused = False
        session.last_focus_at = None
        session.front = False
        officer.last_assigned_at = turn.now
        turn.touched_booths.add(session.booth_id)
        turn.send(
            "booth",
            session.booth_id,
            "assigned",
            {"session_id": session.id, "officer": {"id": officer.id, "name": officer.name}},
        )
        turn.send("officer", officer.id, "session_started", session_view(turn.state, session))
        turn.audit(actor, "session_started", session, previous, "active")

    @staticmethod
    def _release(
        turn: _Turn, session: Session, reason: str, extra: dict[str, Any] | None = None
    ) -> Officer | None:
        """Take the session off its officer's offers or live sessions, and tell them why."""
        officer = turn.state.officers.get(session.officer_id) if session.officer_id else None
        if officer is None:
            return None
        if session.id in officer.offers:
            officer.offers.remove(session.id)
            turn.send("officer", officer.id, "offer_withdrawn",
                      {"session_id": session.id, "reason": reason})
        if session.id in officer.sessions:
            officer.sessions.remove(session.id)
            if officer.focus == session.id:
                officer.focus = None
            turn.send("officer", officer.id, "session_ended",
                      {"session_id": session.id, "reason": reason, **(extra or {})})
        return officer

    def _requeue(
        self, turn: _Turn, session: Session, *, front: bool, reason: str, actor: str
    ) -> None:
        """Put a session back in the queue; it keeps its seq, so its original position."""
        booth = turn.state.booths.get(session.booth_id)
        if booth is not None and booth.out_of_service:
            # Nobody is routed to an out-of-service booth: in the queue it would wait for ever.
            self._end_session(turn, session, reason="out_of_service", actor=actor)
            return
        previous = session.state
        officer = self._release(turn, session, reason)
        session.state = "queued"
        session.officer_id = None
        session.offer_expires_at = None
        session.started_at = None
        session.focused = False
        session.front = session.front or front
        session.sent_position = None
        turn.touched_booths.add(session.booth_id)
        turn.audit(
            actor, "requeued", session, previous, "queued", reason,
            officer_id=officer.id if officer else None,
        )

    def _end_session(
        self,
        turn: _Turn,
        session: Session,
        *,
        reason: str,
        actor: str,
        outcome: str | None = None,
        note: str | None = None,
    ) -> None:
        previous = session.state
        officer = self._release(turn, session, reason, {"outcome": outcome})
        booth = turn.state.booths.get(session.booth_id)
        if booth is not None and booth.session_id == session.id:
            booth.session_id = None
        turn.touched_booths.add(session.booth_id)
        turn.send(
            "booth",
            session.booth_id,
            "session_ended",
            {"session_id": session.id, "reason": reason, "outcome": outcome},
        )
        del turn.state.sessions[session.id]
        started = session.first_started_at
        visit = Visit(
            session_id=session.id,
            branch=turn.state.id,
            booth_id=session.booth_id,
            officer_id=officer.id if officer else None,
            ticket=session.ticket,
            kind=session.kind,
            created_at=session.created_at,
            started_at=started,
            ended_at=turn.now,
            outcome=outcome,
            reason=reason,
            note=note,
        )
        turn.result.visits.append(visit)
        if reason == "completed" and visit.handle_s is not None:
            turn.state.completed += 1
            # A slow running mean: the estimate should follow the day, not one visit.
            turn.state.mean_handle_s += (visit.handle_s - turn.state.mean_handle_s) * 0.1
        turn.audit(
            actor, "session_ended", session, previous, "ended", reason,
            officer_id=officer.id if officer else None,
        )

    @staticmethod
    def _officer_acted(turn: _Turn, officer: Officer) -> None:
        """Any action of an officer shows they are back at the console."""
        if officer.mode == "not_responding":
            officer.mode = "available"
            turn.audit(
                officer.id, "officer_status", None, "not_responding", "available", "acted",
                officer_id=officer.id,
            )

    # ------------------------------------------------------------------ booth events

    def _booth_connected(self, turn: _Turn, event: ev.BoothConnected) -> None:
        booth = self._booth(turn, event.booth_id)
        was_lost = booth.lost_at is not None
        booth.connected = True
        booth.conn = event.conn
        booth.lost_at = None
        turn.touched_booths.add(booth.id)
        turn.audit(booth.id, "booth_connected", None, "offline", "online",
                   "returned" if was_lost else None, booth_id=booth.id)
        session = turn.state.sessions.get(booth.session_id) if booth.session_id else None
        if session is None:
            return
        # The booth lost everything it knew: tell it again where its session stands.
        if session.state == "active" and session.officer_id:
            officer = turn.state.officers[session.officer_id]
            turn.send(
                "booth",
                booth.id,
                "assigned",
                {"session_id": session.id, "officer": {"id": officer.id, "name": officer.name},
                 "resumed": True},
            )
            turn.send("booth", booth.id, "focus", {"session_id": session.id,
                                                    "focused": session.focused})
        else:
            session.sent_position = None

    def _booth_disconnected(self, turn: _Turn, event: ev.BoothDisconnected) -> None:
        booth = self._booth(turn, event.booth_id)
        if not booth.connected or (event.conn is not None and event.conn != booth.conn):
            # A newer connection of this booth took over; the old one's goodbye changes nothing.
            return
        booth.connected = False
        booth.conn = None
        if booth.session_id is not None:
            booth.lost_at = turn.now
        turn.touched_booths.add(booth.id)
        turn.audit(booth.id, "booth_disconnected", None, "online", "offline",
                   booth_id=booth.id)

    def _booth_ready(self, turn: _Turn, event: ev.BoothReady) -> None:
        booth = self._booth(turn, event.booth_id)
        if not booth.connected:
            # A `ready` that lost the race with its socket's goodbye: its session would never
            # be offered, and no grace period would end it.
            raise _fail(ErrorCode.CONFLICT, "booth is not connected")
        if booth.out_of_service:
            raise _fail(ErrorCode.CONFLICT, "booth is out of service")
        if not 0 <= event.priority <= 9:
            raise _fail(ErrorCode.INVALID, "priority: expected an integer 0..9")
        if booth.session_id is not None:
            # Idempotent: a kiosk that repeats `ready` (after a reconnect) keeps its session.
            session = turn.state.sessions[booth.session_id]
            turn.result.reply = {
                "session_id": session.id,
                "position": self._position(turn, session),
                "state": session.state,
            }
            return
        if event.session_id in turn.state.sessions:
            raise _fail(ErrorCode.CONFLICT, "session_id: already in use")
        session = Session(
            id=event.session_id,
            booth_id=booth.id,
            seq=turn.state.next_seq,
            created_at=turn.now,
            ticket=event.ticket,
            kind=event.kind,
            priority=event.priority,
        )
        turn.state.next_seq += 1
        turn.state.sessions[session.id] = session
        booth.session_id = session.id
        turn.touched_booths.add(booth.id)
        turn.audit(booth.id, "ready", session, None, "queued", booth_id=booth.id)
        turn.result.reply = {"session_id": session.id}

    def _booth_cancel(self, turn: _Turn, event: ev.BoothCancel) -> None:
        booth = self._booth(turn, event.booth_id)
        session = self._booth_session(turn, booth, event.session_id)
        self._end_session(turn, session, reason=event.reason or "cancelled", actor=booth.id)

    def _booth_health(self, turn: _Turn, event: ev.BoothHealth) -> None:
        booth = self._booth(turn, event.booth_id)
        healthy = event.camera_ok
        if healthy == booth.healthy:
            return
        booth.healthy = healthy
        turn.touched_booths.add(booth.id)
        turn.audit(booth.id, "booth_health", None, "fault" if healthy else "ok",
                   "ok" if healthy else "fault", booth_id=booth.id)
        session = turn.state.sessions.get(booth.session_id) if booth.session_id else None
        if not healthy and session is not None and session.state == "offered":
            # An officer should not greet a booth that cannot show the participant.
            self._requeue(turn, session, front=False, reason="booth_fault", actor=booth.id)

    # ------------------------------------------------------------------ officer events

    def _officer_connected(self, turn: _Turn, event: ev.OfficerConnected) -> None:
        officer = self._officer(turn, event.officer_id)
        returning = officer.lost_at is not None
        officer.lost_at = None
        was_connected = officer.connected
        officer.conn = event.conn
        officer.connected = True
        if was_connected:
            # A second tab or a reconnect that beat the old socket's goodbye: the console
            # reloaded, so its booths must offer their video again.
            turn.result.changed = True  # the new connection id must be saved
            self._resume_booths(turn, officer)
            return
        officer.since = turn.now
        turn.audit(officer.id, "officer_connected", None, "offline", officer.mode,
                   "returned" if returning else None, officer_id=officer.id)
        self._resume_booths(turn, officer)

    @staticmethod
    def _resume_booths(turn: _Turn, officer: Officer) -> None:
        """The console (re)loaded: every booth it serves must offer its video again."""
        for session_id in officer.sessions:
            session = turn.state.sessions[session_id]
            turn.send(
                "booth",
                session.booth_id,
                "assigned",
                {"session_id": session.id, "officer": {"id": officer.id, "name": officer.name},
                 "resumed": True},
            )

    def _officer_disconnected(self, turn: _Turn, event: ev.OfficerDisconnected) -> None:
        officer = self._officer(turn, event.officer_id)
        if not officer.connected or (event.conn is not None and event.conn != officer.conn):
            return
        officer.connected = False
        officer.conn = None
        officer.since = turn.now
        turn.audit(officer.id, "officer_disconnected", None, officer.mode, "offline",
                   officer_id=officer.id)
        # Pending offers cannot be answered by an absent officer: give them back at once.
        for session_id in list(officer.offers):
            session = turn.state.sessions[session_id]
            self._requeue(turn, session, front=False, reason="officer_disconnected",
                          actor="server")
        if officer.sessions:
            officer.lost_at = turn.now

    def _set_status(self, turn: _Turn, event: ev.SetStatus) -> None:
        officer = self._officer(turn, event.officer_id)
        if event.status not in ("available", "paused"):
            raise _fail(ErrorCode.INVALID, "status: expected 'available' or 'paused'")
        previous = officer.mode
        officer.mode = event.status
        if previous != officer.mode:
            officer.since = turn.now
            turn.audit(event.actor or officer.id, "officer_status", None, previous, officer.mode,
                       officer_id=officer.id)
        turn.result.reply = {"status": officer.display_status}
        turn.result.changed = True

    @staticmethod
    def _pending_offer(turn: _Turn, officer: Officer, session_id: str) -> Session:
        session = turn.state.sessions.get(session_id)
        if session is None or session.id not in officer.offers:
            raise _fail(ErrorCode.NOT_FOUND, "session_id: no pending offer with this id")
        if session.offer_expires_at is not None and session.offer_expires_at <= turn.now:
            # Expiry runs after the handler: an answer that beat the timer still came too late.
            raise _fail(ErrorCode.CONFLICT, "session_id: the offer has expired")
        return session

    def _accept(self, turn: _Turn, event: ev.Accept) -> None:
        officer = self._officer(turn, event.officer_id)
        session = self._pending_offer(turn, officer, event.session_id)
        self._officer_acted(turn, officer)
        self._start_session(turn, session, officer, actor=officer.id)

    def _decline(self, turn: _Turn, event: ev.Decline) -> None:
        officer = self._officer(turn, event.officer_id)
        session = self._pending_offer(turn, officer, event.session_id)
        self._officer_acted(turn, officer)
        session.declined_until[officer.id] = turn.now + self.policy.decline_cooldown_s
        self._requeue(turn, session, front=False, reason=event.reason or "declined",
                      actor=officer.id)

    def _focus(self, turn: _Turn, event: ev.Focus) -> None:
        officer = self._officer(turn, event.officer_id)
        target: Session | None = None
        if event.session_id is not None:
            target = self._officer_session(turn, officer, event.session_id)
            if target.state != "active":
                raise _fail(ErrorCode.CONFLICT, "session_id: the session is not live yet")
        self._officer_acted(turn, officer)
        previous = turn.state.sessions.get(officer.focus) if officer.focus else None
        if previous is not None and previous is not target:
            previous.focused = False
            turn.send("booth", previous.booth_id, "focus",
                      {"session_id": previous.id, "focused": False})
        officer.focus = target.id if target else None
        if target is not None:
            target.focused = True
            target.last_focus_at = turn.now
            turn.send("booth", target.booth_id, "focus", {"session_id": target.id,
                                                           "focused": True})
        if previous is not target:
            # Focus changes are audited so a branch can measure the officer's real attention
            # share (and calibrate the simulator) from its own log.
            turn.audit(officer.id, "focus", target or previous,
                       previous.id if previous else None, target.id if target else None,
                       officer_id=officer.id)
        turn.result.changed = True
        turn.result.reply = {"focus": officer.focus}

    def _request_document(self, turn: _Turn, event: ev.RequestDocument) -> None:
        officer = self._officer(turn, event.officer_id)
        session = self._officer_session(turn, officer, event.session_id)
        if event.kind not in DOCUMENT_KINDS:
            raise _fail(ErrorCode.INVALID, f"kind: expected one of {', '.join(DOCUMENT_KINDS)}")
        if session.state != "active":
            raise _fail(ErrorCode.CONFLICT, "session_id: the session is not live")
        self._officer_acted(turn, officer)
        session.requested_document = event.kind
        turn.send("booth", session.booth_id, "document_requested",
                  {"session_id": session.id, "kind": event.kind})
        turn.audit(officer.id, "document_requested", session, "active", "active", event.kind)

    def _document_uploaded(self, turn: _Turn, event: ev.DocumentUploaded) -> None:
        booth = self._booth(turn, event.booth_id)
        session = self._booth_session(turn, booth, event.session_id)
        if session.state != "active" or session.officer_id is None:
            raise _fail(ErrorCode.CONFLICT, "session_id: the session has no officer now")
        if event.kind not in DOCUMENT_KINDS:
            raise _fail(ErrorCode.INVALID, f"kind: expected one of {', '.join(DOCUMENT_KINDS)}")
        session.documents[event.document_id] = DocumentRecord(kind=event.kind)
        if session.requested_document == event.kind:
            session.requested_document = None
        turn.send(
            "officer",
            session.officer_id,
            "document_ready",
            {"session_id": session.id, "document_id": event.document_id, "kind": event.kind,
             "quality": event.quality},
        )
        turn.audit(booth.id, "document_uploaded", session, "active", "active",
                   f"{event.kind}:{event.document_id}")

    def _review_document(self, turn: _Turn, event: ev.ReviewDocument) -> None:
        officer = self._officer(turn, event.officer_id)
        found: tuple[Session, DocumentRecord] | None = None
        for session_id in officer.sessions:
            session = turn.state.sessions[session_id]
            record = session.documents.get(event.document_id)
            if record is not None:
                found = (session, record)
                break
        if found is None:
            raise _fail(ErrorCode.NOT_FOUND,
                        "document_id: no document of a live session of this officer")
        if event.status not in ("approved", "rejected"):
            raise _fail(ErrorCode.INVALID, "status: expected 'approved' or 'rejected'")
        session, record = found
        self._officer_acted(turn, officer)
        record.status = event.status
        record.reason = event.reason
        data: dict[str, Any] = {"session_id": session.id, "document_id": event.document_id,
                                "status": event.status}
        if event.reason:
            data["reason"] = event.reason
        data["kind"] = record.kind
        turn.send("booth", session.booth_id, "document_reviewed", data)
        turn.audit(officer.id, "document_reviewed", session, "active", "active",
                   f"{event.status}:{event.document_id}" + (f":{event.reason}"
                                                            if event.reason else ""))

    def _complete(self, turn: _Turn, event: ev.Complete) -> None:
        officer = self._officer(turn, event.officer_id)
        session = self._officer_session(turn, officer, event.session_id)
        if session.state != "active":
            raise _fail(ErrorCode.CONFLICT, "session_id: the session is not live")
        if event.outcome not in OUTCOMES:
            raise _fail(ErrorCode.INVALID, f"outcome: expected one of {', '.join(OUTCOMES)}")
        self._officer_acted(turn, officer)
        self._end_session(turn, session, reason="completed", actor=officer.id,
                          outcome=event.outcome, note=event.note)

    def _transfer(self, turn: _Turn, event: ev.Transfer) -> None:
        officer = self._officer(turn, event.officer_id)
        session = self._officer_session(turn, officer, event.session_id)
        if session.state != "active":
            raise _fail(ErrorCode.CONFLICT, "session_id: the session is not live")
        if event.target_officer_id is None:
            self._officer_acted(turn, officer)
            session.transfers += 1
            # Handed back on purpose: not offered straight back to the same officer.
            session.declined_until[officer.id] = turn.now + self.policy.decline_cooldown_s
            self._requeue(turn, session, front=True, reason="transferred", actor=officer.id)
            return
        target = turn.state.officers.get(event.target_officer_id)
        if target is None:
            raise _fail(ErrorCode.NOT_FOUND,
                        f"officer_id: no officer {event.target_officer_id!r} in this branch")
        if target.id == officer.id:
            raise _fail(ErrorCode.CONFLICT, "officer_id: the session is already yours")
        if not target.connected or target.mode != "available":
            raise _fail(ErrorCode.CONFLICT, "officer_id: that officer is not available")
        if target.free <= 0:
            raise _fail(ErrorCode.CONFLICT, "officer_id: that officer has no free capacity")
        self._officer_acted(turn, officer)
        self._release(turn, session, "transferred")
        session.transfers += 1
        turn.audit(officer.id, "transferred", session, "active", "active",
                   f"to:{target.id}", officer_id=officer.id)
        self._start_session(turn, session, target, actor=officer.id)

    def _set_out_of_service(self, turn: _Turn, event: ev.SetOutOfService) -> None:
        booth = self._booth(turn, event.booth_id)
        if booth.out_of_service == event.out_of_service:
            turn.result.reply = {"out_of_service": booth.out_of_service}
            return
        booth.out_of_service = event.out_of_service
        booth.out_of_service_reason = event.reason if event.out_of_service else None
        turn.touched_booths.add(booth.id)
        turn.audit(event.actor, "booth_service", None,
                   "in_service" if event.out_of_service else "out_of_service",
                   "out_of_service" if event.out_of_service else "in_service",
                   event.reason, booth_id=booth.id)
        session = turn.state.sessions.get(booth.session_id) if booth.session_id else None
        if event.out_of_service and session is not None and session.state != "active":
            # A live visit is allowed to finish; one not yet started is ended now.
            self._end_session(turn, session, reason="out_of_service", actor=event.actor)
        turn.result.reply = {"out_of_service": booth.out_of_service}

    def _tick(self, turn: _Turn, event: ev.Tick) -> None:
        """Expiry happens in `_expire`, which runs after every event."""

    # ------------------------------------------------------------------ time and dispatch

    def _expire(self, turn: _Turn) -> None:
        now = turn.now
        for session in list(turn.state.sessions.values()):
            for officer_id, until in list(session.declined_until.items()):
                if until <= now:
                    del session.declined_until[officer_id]
                    turn.result.changed = True
            if (
                session.state == "offered"
                and session.offer_expires_at is not None
                and session.offer_expires_at <= now
            ):
                officer = turn.state.officers[session.officer_id or ""]
                self._requeue(turn, session, front=False, reason="offer_expired",
                              actor="server")
                if officer.mode == "available":
                    officer.mode = "not_responding"
                    turn.audit("server", "officer_status", None, "available",
                               "not_responding", "offer_expired", officer_id=officer.id)
        for officer in turn.state.officers.values():
            if (
                officer.lost_at is not None
                and officer.lost_at + self.policy.officer_grace_s <= now
            ):
                officer.lost_at = None
                turn.result.changed = True
                for session_id in list(officer.sessions):
                    session = turn.state.sessions[session_id]
                    self._requeue(turn, session, front=True, reason="officer_lost",
                                  actor="server")
        for booth in turn.state.booths.values():
            if booth.lost_at is not None and booth.lost_at + self.policy.booth_grace_s <= now:
                booth.lost_at = None
                turn.result.changed = True
                turn.touched_booths.add(booth.id)
                lost = turn.state.sessions.get(booth.session_id) if booth.session_id else None
                if lost is not None:
                    self._end_session(turn, lost, reason="booth_lost", actor="server")

    def _dispatch(self, turn: _Turn) -> None:
        state = turn.state
        candidates = [
            o
            for o in state.officers.values()
            if o.connected and o.lost_at is None and o.mode == "available" and o.free > 0
        ]
        if not candidates:
            return
        for session in state.queue():
            booth = state.booths[session.booth_id]
            if not booth.connected or not booth.healthy or booth.out_of_service:
                continue
            eligible = [o for o in candidates if o.id not in session.declined_until]
            if not eligible:
                continue
            # Most free capacity first; among equals, the one who waited longest.
            officer = min(eligible, key=lambda o: (-o.free, o.last_assigned_at, o.id))
            self._offer(turn, session, officer)
            if officer.free <= 0:
                candidates.remove(officer)
                if not candidates:
                    return

    def _offer(self, turn: _Turn, session: Session, officer: Officer) -> None:
        session.officer_id = officer.id
        session.sent_position = None
        if officer.auto_accept:
            self._start_session(turn, session, officer, actor="auto_accept")
            return
        session.state = "offered"
        session.offered_at = turn.now
        session.offer_expires_at = turn.now + self.policy.offer_timeout_s
        officer.offers.append(session.id)
        turn.touched_booths.add(session.booth_id)
        data: dict[str, Any] = {
            "session_id": session.id,
            "booth": booth_ref(turn.state, session.booth_id),
            "ticket": session.ticket,
            "kind": session.kind,
            "priority": session.priority,
            "expires_in_s": self.policy.offer_timeout_s,
        }
        turn.send("officer", officer.id, "offer", data)
        turn.audit("server", "offered", session, "queued", "offered", officer_id=officer.id)

    def _refresh_positions(self, turn: _Turn) -> None:
        """Tell every queued booth whose place changed; fill the position into the reply."""
        reply = turn.result.reply
        positions: dict[str, int] = {}
        for index, session in enumerate(turn.state.queue()):
            positions[session.id] = index + 1
            if session.sent_position != index + 1:
                self._queued_message(turn, session, index + 1)
                turn.result.changed = True
        if "session_id" in reply and "position" not in reply:
            reply["position"] = positions.get(reply["session_id"], 0)

    def _refresh_booth_since(self, turn: _Turn) -> None:
        for booth_id in turn.touched_booths:
            booth = turn.state.booths.get(booth_id)
            if booth is None:
                continue
            display = booth_display_state(turn.state, booth)
            if display != booth.last_display:
                booth.last_display = display
                booth.since = turn.now
                turn.result.changed = True
