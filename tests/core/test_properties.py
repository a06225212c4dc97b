"""Random event sequences never break the invariants of the design.

A hypothesis state machine drives one branch with any event, from any booth or officer, in any
order, with time jumping past offer timeouts, decline cooldowns and grace periods. Refused
events must leave the state byte-identical; accepted ones are checked by `invariants`. Every
step also runs on a copy of the state that went through `to_dict` / JSON / `from_dict`, as the
Redis store does, and the two must behave identically.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Policy, Result
from booth_server.core.model import DOCUMENT_KINDS, OUTCOMES, BranchState, new_branch
from booth_server.errors import ApiError

from .invariants import check_state, check_step
from .support import T0, snapshot

# Hypothesis gives up shrinking after five minutes; let it, so that a failure is reported as
# itself rather than as the suite's 300 s timeout.
pytestmark = pytest.mark.timeout(900)

BOOTHS = [f"b{i}" for i in range(1, 6)]
OFFICERS = ["o1", "o2", "o3"]
POLICY = Policy(offer_timeout_s=15, officer_grace_s=20, booth_grace_s=20, decline_cooldown_s=30)

# Known parties mostly, sometimes a stranger; connections with and without ids.
booth_ids = st.sampled_from([*BOOTHS, *BOOTHS, "b-unknown"])
officer_ids = st.sampled_from([*OFFICERS, *OFFICERS, *OFFICERS, "o-unknown"])
conns = st.sampled_from([None, None, "c1", "c2"])
steps = st.sampled_from([0.0, 0.5, 1.0, 5.0, 14.99, 15.0, 19.99, 20.0, 25.0, 30.0, 61.0])


def comparable(result: Result) -> tuple[Any, ...]:
    # Results compare by value; the two runs must say exactly the same things.
    return (result.reply, result.outbound, result.audit, result.visits, result.changed)


class BranchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dispatcher = Dispatcher(POLICY)
        self.state = new_branch("langsa", "Langsa", [(b, b.upper()) for b in BOOTHS], [])
        self.now = T0
        self.created: set[str] = set()
        self.ended: dict[str, str] = {}
        self.told: dict[str, int] = {}
        self.counter = 0

    @initialize(
        officers=st.lists(st.tuples(st.integers(1, 6), st.booleans()), min_size=3, max_size=3),
        online=st.lists(st.booleans(), min_size=len(BOOTHS) + len(OFFICERS),
                        max_size=len(BOOTHS) + len(OFFICERS)),
    )
    def staff(self, officers: list[tuple[int, bool]], online: list[bool]) -> None:
        self.state = new_branch(
            "langsa",
            "Langsa",
            [(b, b.upper()) for b in BOOTHS],
            [(o, o.upper(), cap, auto) for o, (cap, auto) in zip(OFFICERS, officers, strict=True)],
        )
        # Start with most parties connected, so that sessions get going quickly.
        for party, up in zip([*BOOTHS, *OFFICERS], online, strict=True):
            if up or party in ("b1", "b2", "o1"):
                self.apply(ev.BoothConnected(party) if party.startswith("b")
                           else ev.OfficerConnected(party))

    # ------------------------------------------------------------------ applying one event

    def apply(self, event: ev.Event) -> Result | None:
        plain = self.state.to_dict()
        frozen = json.dumps(plain, sort_keys=True)
        # What the Redis store would load: it must equal the live state, and behave like it.
        # (Its JSON keeps the order of the dicts, which sets the order of a turn's messages.)
        stored = json.dumps(plain)
        twin = BranchState.from_dict(json.loads(stored))
        before = BranchState.from_dict(json.loads(stored))
        assert twin == self.state, "the state does not survive to_dict/JSON/from_dict"
        try:
            result = self.dispatcher.handle(self.state, event, self.now)
        except ApiError as error:
            assert snapshot(self.state) == frozen, f"refused {event} but changed the state"
            assert str(error.code) in {"invalid", "not_found", "conflict"}, error.code
            try:
                self.dispatcher.handle(twin, event, self.now)
            except ApiError as twin_error:
                assert twin_error.code == error.code
            else:
                raise AssertionError("the round-tripped state accepted a refused event")
            return None
        twin_result = self.dispatcher.handle(twin, event, self.now)
        assert comparable(twin_result) == comparable(result), "round trip changed behaviour"
        assert twin == self.state, "round trip changed behaviour"
        check_step(before, self.state, result, plain, self.state.to_dict())
        self.created |= set(self.state.sessions) - set(before.sessions)
        for visit in result.visits:
            assert visit.session_id not in self.ended, f"{visit.session_id} ended twice"
            self.ended[visit.session_id] = visit.reason
        for message in result.outbound:
            if message.event == "queued":
                self.told[message.data["session_id"]] = message.data["position"]
        # Carry on from the round-tripped copy half the time, as a store reloading would.
        if self.counter % 2:
            self.state = twin
        self.counter += 1
        return result

    def pick_session(self, data: st.DataObject, preferred: list[str]) -> str:
        """Mostly one of the sessions the actor has a hand in; sometimes any, or none."""
        if preferred and data.draw(st.integers(0, 9), label="own") < 8:
            return data.draw(st.sampled_from(preferred), label="session")
        choices = [*sorted(self.state.sessions), "s-unknown"]
        return data.draw(st.sampled_from(choices), label="session")

    # ------------------------------------------------------------------ time

    @rule(seconds=steps)
    def tick(self, seconds: float) -> None:
        self.tick_to(self.now + seconds)

    @rule(offset=st.sampled_from([-0.01, 0.0, 0.01]))
    def tick_at_deadline(self, offset: float) -> None:
        deadline = self.dispatcher.next_deadline(self.state)
        if deadline is not None:
            self.tick_to(max(self.now, deadline + offset))

    def tick_to(self, when: float) -> None:
        deadline = self.dispatcher.next_deadline(self.state)
        frozen = BranchState.from_dict(self.state.to_dict())
        self.now = when
        result = self.apply(ev.Tick())
        assert result is not None, "a tick was refused"
        if deadline is None or when < deadline:
            # next_deadline is what the server's timer sleeps on: nothing may fall due earlier.
            assert not result.changed and result.outbound == [] and result.audit == [], (
                f"a tick at {when} before the deadline {deadline} did something"
            )
            assert self.state == frozen

    # ------------------------------------------------------------------ booths

    @rule(booth=booth_ids, conn=conns, up=st.sampled_from([True, True, False]))
    def booth_presence(self, booth: str, conn: str | None, up: bool) -> None:
        self.apply(ev.BoothConnected(booth, conn=conn) if up
                   else ev.BoothDisconnected(booth, conn=conn))

    @rule(
        booth=booth_ids,
        priority=st.sampled_from([0] * 10 + list(range(10)) + [-1, 10]),
        reuse=st.sampled_from([False] * 9 + [True]),
    )
    def ready(self, booth: str, priority: int, reuse: bool) -> None:
        self.counter += 1
        sid = f"s{self.counter}"
        if reuse and self.state.sessions:
            sid = sorted(self.state.sessions)[0]
        self.apply(ev.BoothReady(booth, sid, priority=priority))

    @rule(booth=booth_ids)
    def plain_ready(self, booth: str) -> None:
        # Arrivals are the lifeblood of the branch: a second rule makes them twice as likely.
        self.counter += 1
        self.apply(ev.BoothReady(booth, f"s{self.counter}"))

    @precondition(lambda self: bool(self.state.sessions))
    @rule(booth=booth_ids, data=st.data())
    def cancel(self, booth: str, data: st.DataObject) -> None:
        own = self.state.booths[booth].session_id if booth in self.state.booths else None
        sid = self.pick_session(data, [own] if own else [])
        self.apply(ev.BoothCancel(booth, sid))

    @rule(
        booth=booth_ids,
        change=st.sampled_from(["ok", "ok", "fault", "in_service", "in_service", "oos"]),
    )
    def booth_condition(self, booth: str, change: str) -> None:
        if change in ("ok", "fault"):
            self.apply(ev.BoothHealth(booth, camera_ok=change == "ok"))
        else:
            self.apply(ev.SetOutOfService(booth, change == "oos", actor="ops"))

    @precondition(lambda self: self.live())
    @rule(booth=booth_ids, data=st.data(), kind=st.sampled_from([*DOCUMENT_KINDS, "visa"]))
    def upload(self, booth: str, data: st.DataObject, kind: str) -> None:
        own = self.state.booths[booth].session_id if booth in self.state.booths else None
        sid = self.pick_session(data, [own] if own else [])
        self.counter += 1
        self.apply(ev.DocumentUploaded(booth, sid, f"d{self.counter}", kind, {}))

    # ------------------------------------------------------------------ officers

    def own_any_offer(self) -> bool:
        return any(o.offers for o in self.state.officers.values())

    def live(self) -> bool:
        return any(s.state == "active" for s in self.state.sessions.values())

    def own(self, officer: str, offers: bool = False) -> list[str]:
        held = self.state.officers.get(officer)
        if held is None:
            return []
        return list(held.offers if offers else held.sessions)

    @rule(officer=officer_ids, conn=conns, up=st.sampled_from([True, True, False]))
    def officer_presence(self, officer: str, conn: str | None, up: bool) -> None:
        self.apply(ev.OfficerConnected(officer, conn=conn) if up
                   else ev.OfficerDisconnected(officer, conn=conn))

    @rule(officer=officer_ids, status=st.sampled_from(["available"] * 3 + ["paused", "away"]))
    def set_status(self, officer: str, status: Any) -> None:
        self.apply(ev.SetStatus(officer, status))

    @precondition(lambda self: self.own_any_offer())
    @rule(officer=officer_ids, data=st.data(), yes=st.sampled_from([True, True, True, False]))
    def answer_offer(self, officer: str, data: st.DataObject, yes: bool) -> None:
        sid = self.pick_session(data, self.own(officer, offers=True))
        self.apply(ev.Accept(officer, sid) if yes else ev.Decline(officer, sid))

    @precondition(lambda self: self.live())
    @rule(officer=officer_ids, data=st.data(), none=st.sampled_from([False, False, True]))
    def focus(self, officer: str, data: st.DataObject, none: bool) -> None:
        sid = None if none else self.pick_session(data, self.own(officer))
        self.apply(ev.Focus(officer, sid))

    @precondition(lambda self: self.live())
    @rule(officer=officer_ids, data=st.data(), kind=st.sampled_from([*DOCUMENT_KINDS, "visa"]))
    def request_document(self, officer: str, data: st.DataObject, kind: str) -> None:
        self.apply(ev.RequestDocument(officer, self.pick_session(data, self.own(officer)), kind))

    @precondition(lambda self: self.live())
    @rule(officer=officer_ids, data=st.data(), status=st.sampled_from(["approved", "rejected"]))
    def review(self, officer: str, data: st.DataObject, status: Any) -> None:
        held = self.state.officers.get(officer)
        own = sorted(
            doc for sid in (held.sessions if held else []) for doc in
            self.state.sessions[sid].documents
        )
        anyone = sorted(doc for s in self.state.sessions.values() for doc in s.documents)
        document = data.draw(st.sampled_from([*own, *own, *anyone, "d-unknown"]), label="doc")
        self.apply(ev.ReviewDocument(officer, document, status, reason="r"))

    @precondition(lambda self: self.live())
    @rule(officer=officer_ids, data=st.data(), outcome=st.sampled_from([*OUTCOMES, "meh"]))
    def complete(self, officer: str, data: st.DataObject, outcome: str) -> None:
        self.apply(ev.Complete(officer, self.pick_session(data, self.own(officer)), outcome))

    @precondition(lambda self: self.live())
    @rule(officer=officer_ids, data=st.data(), to=st.one_of(st.none(), officer_ids))
    def transfer(self, officer: str, data: st.DataObject, to: str | None) -> None:
        self.apply(ev.Transfer(officer, self.pick_session(data, self.own(officer)), to))

    # ------------------------------------------------------------------ after every step

    @invariant()
    def holds(self) -> None:
        check_state(self.state, self.now)
        # Whatever was due by now has been done: no timer is left overdue.
        deadline = self.dispatcher.next_deadline(self.state)
        assert deadline is None or deadline > self.now, f"overdue since {deadline}"
        # Every session that ever existed is still here, or ended on the record, not both.
        live = set(self.state.sessions)
        assert live | set(self.ended) == self.created
        assert not live & set(self.ended)
        # Every waiting booth was told its current place.
        for position, session in enumerate(self.state.queue(), start=1):
            assert self.told.get(session.id) == position, (session.id, position)


BranchMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBranch = BranchMachine.TestCase


# ---------------------------------------------------------------------------- long days

def busy(machine: BranchMachine, offers: bool = False) -> st.SearchStrategy[str]:
    """Mostly an officer with offers (or live sessions) in hand; sometimes anyone."""
    holders = [o for o in OFFICERS if machine.own(o, offers=offers)]
    return st.sampled_from([*holders, *holders, *holders, *OFFICERS, "o-unknown"])


def _draw_action(machine: BranchMachine, data: st.DataObject) -> None:
    """One step of a busy day: arrivals, answers and completions outnumber the mishaps."""
    m, d = machine, data
    kind = d.draw(st.sampled_from(
        ["ready"] * 4 + ["answer"] * 4 + ["complete"] * 2 + ["tick"] * 3 + ["deadline"] * 2
        + ["booth_presence", "officer_presence"] * 2
        + ["status", "condition", "cancel", "focus", "paperwork", "transfer"]
    ), label="action")
    if kind == "ready":
        m.ready(d.draw(booth_ids), d.draw(st.sampled_from([0, 0, 0, 1, 5, 9, 10])), False)
    elif kind == "answer" and m.own_any_offer():
        officer = d.draw(busy(m, offers=True))
        m.answer_offer(officer, d, d.draw(st.sampled_from([True, True, False])))
    elif kind == "complete" and m.live():
        m.complete(d.draw(busy(m)), d, d.draw(st.sampled_from(OUTCOMES)))
    elif kind == "tick":
        # Mostly short waits, so that offers live long enough to be answered.
        m.tick(d.draw(st.sampled_from([0.5, 1.0, 2.0, 5.0, 5.0, 10.0, 14.99, 15.0, 20.0, 61.0])))
    elif kind == "deadline":
        m.tick_at_deadline(d.draw(st.sampled_from([-0.01, 0.0, 0.01])))
    elif kind == "booth_presence":
        m.booth_presence(d.draw(booth_ids), d.draw(conns), d.draw(st.booleans()))
    elif kind == "officer_presence":
        m.officer_presence(d.draw(officer_ids), d.draw(conns), d.draw(st.booleans()))
    elif kind == "status":
        m.set_status(d.draw(officer_ids), d.draw(st.sampled_from(["available", "paused"])))
    elif kind == "condition":
        m.booth_condition(d.draw(booth_ids), d.draw(
            st.sampled_from(["ok", "fault", "in_service", "oos"])))
    elif kind == "cancel" and m.state.sessions:
        m.cancel(d.draw(booth_ids), d)
    elif kind == "focus" and m.live():
        m.focus(d.draw(busy(m)), d, d.draw(st.booleans()))
    elif kind == "paperwork" and m.live():
        step = d.draw(st.sampled_from(["request", "upload", "review"]))
        if step == "request":
            m.request_document(d.draw(busy(m)), d, d.draw(st.sampled_from(DOCUMENT_KINDS)))
        elif step == "upload":
            m.upload(d.draw(booth_ids), d, d.draw(st.sampled_from(DOCUMENT_KINDS)))
        else:
            m.review(d.draw(busy(m)), d, d.draw(st.sampled_from(["approved", "rejected"])))
    elif kind == "transfer" and m.live():
        m.transfer(d.draw(busy(m)), d, d.draw(st.one_of(st.none(), officer_ids)))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    officers=st.lists(st.tuples(st.integers(1, 6), st.booleans()), min_size=3, max_size=3),
    data=st.data(),
)
def test_long_days_keep_the_invariants(
    officers: list[tuple[int, bool]], data: st.DataObject
) -> None:
    machine = BranchMachine()
    machine.staff(officers, [True] * (len(BOOTHS) + len(OFFICERS)))
    machine.holds()
    # A drawn length lets a failing day shrink to a short one quickly.
    for _ in range(data.draw(st.integers(20, 250), label="steps")):
        _draw_action(machine, data)
        machine.holds()
