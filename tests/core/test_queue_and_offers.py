"""The queue, the choice of officer, offers as timed reservations, decline and auto-accept."""

from __future__ import annotations

from booth_server.core import events as ev
from booth_server.core.dispatcher import Policy

from .support import T0, Branch

# ---------------------------------------------------------------------------- the queue


def test_ready_queues_a_session_and_answers_its_position() -> None:
    b = Branch()
    b.connect_booths("b1", "b2")
    first = b.do(ev.BoothReady("b1", "s1", ticket="A001", kind="collective", priority=0))
    assert first.reply == {"session_id": "s1", "position": 1}
    second = b.do(ev.BoothReady("b2", "s2"))
    assert second.reply == {"session_id": "s2", "position": 2}
    session = b.state.sessions["s1"]
    assert (session.state, session.ticket, session.kind) == ("queued", "A001", "collective")
    assert b.state.booths["b1"].session_id == "s1"
    assert b.messages("booth", "b1", "queued")[-1]["position"] == 1
    assert b.messages("booth", "b2", "queued")[-1]["position"] == 2
    assert b.audit_events("s1") == ["ready"]


def test_queue_is_priority_then_first_come() -> None:
    b = Branch(officers=[("o1", 1, False)])
    b.ready("b1", priority=0, session_id="low-early")
    b.ready("b2", priority=5, session_id="high-late")
    b.ready("b3", priority=0, session_id="low-late")
    b.ready("b4", priority=9, session_id="top")
    b.ready("b5", priority=5, session_id="high-latest")
    assert b.queue_ids() == ["top", "high-late", "high-latest", "low-early", "low-late"]
    for position, sid in enumerate(b.queue_ids(), start=1):
        booth = b.state.sessions[sid].booth_id
        assert b.messages("booth", booth, "queued")[-1]["position"] == position
    # One officer with room for one: the head of the queue is offered, not the oldest.
    b.connect_officers("o1")
    assert b.state.sessions["top"].state == "offered"
    assert b.messages("officer", "o1", "offer")[0]["session_id"] == "top"


def test_queued_positions_are_resent_only_when_they_change() -> None:
    b = Branch()
    for booth in ("b1", "b2", "b3"):
        b.ready(booth)
    b.sent.clear()
    b.do(ev.BoothCancel("b1", "s-b1-1"))
    assert b.messages("booth", "b2", "queued") == [
        {"session_id": "s-b2-2", "position": 1, "estimated_wait_s": b.messages(
            "booth", "b2", "queued")[0]["estimated_wait_s"]}
    ]
    assert [m["position"] for m in b.messages("booth", "b3", "queued")] == [2]
    # A new arrival at the back moves nobody.
    b.sent.clear()
    b.ready("b4")
    assert b.messages("booth", "b2", "queued") == []
    assert b.messages("booth", "b3", "queued") == []
    assert [m["position"] for m in b.messages("booth", "b4", "queued")] == [3]
    # A higher priority arrival moves everyone behind it.
    b.sent.clear()
    b.ready("b5", priority=3)
    assert [m["position"] for m in b.messages("booth", "b5", "queued")] == [1]
    assert [m["position"] for m in b.messages("booth", "b2", "queued")] == [2]
    assert [m["position"] for m in b.messages("booth", "b4", "queued")] == [4]


def test_ready_is_idempotent_for_a_booth_with_a_live_session() -> None:
    b = Branch()
    sid = b.ready("b1")
    b.ready("b2")
    before = b.state.to_dict()
    again = b.do(ev.BoothReady("b1", "another-id", priority=3))
    assert again.reply == {"session_id": sid, "position": 1, "state": "queued"}
    assert again.audit == [] and again.outbound == [] and not again.changed
    assert b.state.to_dict() == before
    # Same for a session already being served.
    b.connect_officers("o1")
    b.do(ev.Accept("o1", sid))
    again = b.do(ev.BoothReady("b1", "yet-another"))
    assert again.reply["session_id"] == sid and again.reply["state"] == "active"
    assert list(b.state.sessions) == [sid, "s-b2-2"]


# ---------------------------------------------------------------------------- choosing an officer


def test_the_officer_with_the_most_free_capacity_gets_the_offer() -> None:
    b = Branch(officers=[("o1", 5, True), ("o2", 4, False)])
    b.connect_officers("o1")
    b.serve("o1", "b1")
    b.serve("o1", "b2")  # o1: 3 free
    b.connect_officers("o2")  # o2: 4 free
    sid = b.ready("b3")
    assert b.state.sessions[sid].officer_id == "o2"
    sid = b.ready("b4")  # now 3 free each; o1 was assigned (long ago), o2 never
    assert b.state.sessions[sid].officer_id == "o2"
    sid = b.ready("b5")  # o1: 3 free, o2: 2 free
    assert b.state.sessions[sid].officer_id == "o1"


def test_ties_go_to_the_officer_longest_since_last_assignment() -> None:
    b = Branch(officers=[("o1", 2, False), ("o2", 2, False)])
    b.connect_officers("o1", "o2")
    first = b.ready("b1")
    # Nobody ever assigned: the tie is broken by id, deterministically.
    assert b.state.sessions[first].officer_id == "o1"
    second = b.ready("b2")
    assert b.state.sessions[second].officer_id == "o2"
    b.now += 5
    b.do(ev.Accept("o2", second))
    b.now += 5
    b.do(ev.Accept("o1", first))  # o1 assigned more recently than o2
    b.now += 5
    b.do(ev.Complete("o1", first, "claim_submitted"))
    b.do(ev.Complete("o2", second, "claim_submitted"))
    sid = b.ready("b3")
    assert b.state.sessions[sid].officer_id == "o2"
    b.do(ev.Decline("o2", sid))  # o2 free again, but o1 is the only one left for it
    assert b.state.sessions[sid].officer_id == "o1"


def test_paused_and_offline_officers_get_no_offers() -> None:
    b = Branch(officers=[("o1", 5, False), ("o2", 5, False)])
    b.connect_officers("o1")
    b.do(ev.SetStatus("o1", "paused"))
    sid = b.ready("b1")
    assert b.state.sessions[sid].state == "queued"
    assert b.messages("officer", event="offer") == []
    result = b.do(ev.SetStatus("o1", "available"))
    assert result.reply == {"status": "available"}
    assert b.state.sessions[sid].officer_id == "o1"


def test_ops_can_pause_an_officer_and_the_audit_names_them() -> None:
    b = Branch()
    b.connect_officers("o1")
    b.do(ev.SetStatus("o1", "paused", actor="ops"))
    entry = b.audit[-1]
    assert (entry.actor, entry.event, entry.from_state, entry.to_state) == (
        "ops", "officer_status", "available", "paused")


# ---------------------------------------------------------------------------- offers


def test_an_offer_is_a_reservation_that_counts_against_capacity() -> None:
    b = Branch(officers=[("o1", 2, False)])
    b.connect_officers("o1")
    s1, s2, s3 = b.ready("b1"), b.ready("b2"), b.ready("b3")
    officer = b.state.officers["o1"]
    assert officer.offers == [s1, s2] and officer.load == 2 and officer.free == 0
    assert b.state.sessions[s3].state == "queued"
    offer = b.messages("officer", "o1", "offer")[0]
    assert offer == {
        "session_id": s1,
        "booth": {"id": "b1", "label": "Booth 1", "branch": "langsa"},
        "ticket": None,
        "kind": "individual",
        "priority": 0,
        "expires_in_s": 15.0,
    }
    assert b.state.sessions[s1].offer_expires_at == T0 + 15
    assert b.dispatcher.next_deadline(b.state) == T0 + 15
    # Accepting keeps the slot; the booth hears who serves it, the officer gets the session.
    b.sent.clear()
    b.do(ev.Accept("o1", s1))
    assert officer.sessions == [s1] and officer.offers == [s2]
    assert b.messages("booth", "b1", "assigned") == [
        {"session_id": s1, "officer": {"id": "o1", "name": "O1"}}
    ]
    started = b.messages("officer", "o1", "session_started")
    assert [m["session_id"] for m in started] == [s1]
    assert started[0]["booth"]["id"] == "b1" and started[0]["state"] == "active"
    assert b.state.sessions[s3].state == "queued"
    # Completing frees the slot and the next one is offered.
    b.do(ev.Complete("o1", s1, "claim_submitted"))
    assert officer.offers == [s2, s3]


def test_an_unanswered_offer_expires_back_to_its_place_and_the_officer_is_not_responding() -> None:
    b = Branch(officers=[("o1", 1, False)])
    b.connect_officers("o1")
    s1, s2, s3 = b.ready("b1"), b.ready("b2"), b.ready("b3")
    assert b.state.sessions[s1].state == "offered"
    assert b.queue_ids() == [s2, s3]
    assert b.at(14.9).outbound == []
    assert b.state.sessions[s1].state == "offered"
    b.sent.clear()
    b.at(15)
    officer = b.state.officers["o1"]
    assert officer.mode == "not_responding" and officer.offers == []
    assert officer.display_status == "not_responding"
    assert b.messages("officer", "o1", "offer_withdrawn") == [
        {"session_id": s1, "reason": "offer_expired"}
    ]
    assert b.queue_ids() == [s1, s2, s3]
    assert [m["position"] for m in b.messages("booth", "b1", "queued")] == [1]
    assert [m["position"] for m in b.messages("booth", "b2", "queued")] == [2]
    assert [m["position"] for m in b.messages("booth", "b3", "queued")] == [3]
    assert ("requeued", "offer_expired") in [(a.event, a.reason) for a in b.audit]
    # A not-responding officer is not offered anything until they act.
    assert b.at(100).outbound == []
    b.do(ev.SetStatus("o1", "available"))
    assert b.state.officers["o1"].display_status == "available"
    assert officer.offers == [s1]


def test_any_action_of_a_not_responding_officer_brings_them_back() -> None:
    b = Branch(officers=[("o1", 2, False)])
    b.connect_officers("o1")
    s1 = b.serve("o1", "b1")
    s2 = b.ready("b2")
    b.advance(15)
    assert b.state.officers["o1"].mode == "not_responding"
    assert b.state.sessions[s2].state == "queued"
    b.do(ev.Focus("o1", s1))
    assert b.state.officers["o1"].display_status == "available"
    assert b.state.sessions[s2].state == "offered"


def test_a_missed_offer_keeps_its_place_among_later_arrivals() -> None:
    b = Branch(officers=[("o1", 1, False), ("o2", 1, False)])
    b.connect_officers("o1")
    s1 = b.ready("b1")
    b.now += 5
    s2, s3 = b.ready("b2", priority=0), b.ready("b3", priority=2)
    b.at(15)  # s1 missed; back ahead of s2 (first come), behind s3 (higher priority)
    assert b.queue_ids() == [s3, s1, s2]
    b.connect_officers("o2")
    assert b.state.sessions[s3].officer_id == "o2"


def test_a_declined_offer_goes_back_to_its_place_and_not_to_the_same_officer() -> None:
    b = Branch(officers=[("o1", 1, False), ("o2", 1, False)])
    b.connect_officers("o1")
    s1, s2 = b.ready("b1"), b.ready("b2")
    b.sent.clear()
    b.do(ev.Decline("o1", s1, reason="bad angle"))
    officer = b.state.officers["o1"]
    assert officer.mode == "available"
    # The next one in line is offered instead; the declined one keeps its place at the head.
    assert officer.offers == [s2]
    assert b.queue_ids() == [s1]
    assert b.messages("officer", "o1", "offer_withdrawn") == [
        {"session_id": s1, "reason": "bad angle"}
    ]
    # Another officer gets it at once.
    b.connect_officers("o2")
    assert b.state.sessions[s1].officer_id == "o2"


def test_a_declined_session_waits_out_the_cooldown_for_that_officer() -> None:
    b = Branch(policy=Policy(decline_cooldown_s=60))
    b.connect_officers("o1")
    s1 = b.ready("b1")
    b.do(ev.Decline("o1", s1))
    assert b.state.sessions[s1].state == "queued"
    assert b.dispatcher.next_deadline(b.state) == T0 + 60
    assert b.at(59.9).outbound == []
    s2 = b.ready("b2")  # others are still offered to o1 meanwhile
    assert b.state.sessions[s2].officer_id == "o1"
    b.at(60)
    assert b.state.sessions[s1].state == "offered"
    assert b.state.sessions[s1].officer_id == "o1"


def test_auto_accept_starts_the_session_without_an_offer() -> None:
    b = Branch(officers=[("o1", 2, True)])
    b.connect_officers("o1")
    sid = b.ready("b1")
    assert b.state.sessions[sid].state == "active"
    assert b.messages("officer", "o1", "offer") == []
    assert [m["session_id"] for m in b.messages("officer", "o1", "session_started")] == [sid]
    assert b.messages("booth", "b1", "assigned")[0]["officer"]["id"] == "o1"
    entry = next(a for a in b.audit if a.event == "session_started")
    assert (entry.actor, entry.from_state, entry.to_state) == ("auto_accept", "queued", "active")
    assert b.dispatcher.next_deadline(b.state) is None
    # Capacity still holds.
    b.ready("b2")
    s3 = b.ready("b3")
    assert b.state.sessions[s3].state == "queued"
    assert len(b.state.officers["o1"].sessions) == 2


def test_an_offer_to_a_booth_that_turns_faulty_is_withdrawn() -> None:
    b = Branch()
    b.connect_officers("o1")
    sid = b.ready("b1")
    b.do(ev.BoothHealth("b1", camera_ok=False))
    assert b.state.sessions[sid].state == "queued"
    assert b.messages("officer", "o1", "offer_withdrawn")[-1]["session_id"] == sid
    assert b.state.officers["o1"].mode == "available"
    b.do(ev.BoothHealth("b1", camera_ok=True))
    assert b.state.sessions[sid].state == "offered"


def test_faulty_and_out_of_service_booths_are_not_routed_to() -> None:
    b = Branch()
    b.connect_booths("b1", "b2", "b3")
    b.do(ev.BoothHealth("b1", camera_ok=False))
    faulty = b.ready("b1")
    b.refuse(ev.SetOutOfService("b9", True, actor="ops"), "not_found")
    b.do(ev.SetOutOfService("b3", True, actor="ops", reason="screen broken"))
    b.refuse(ev.BoothReady("b3", "s-oos"), "conflict")
    fine = b.ready("b2")
    b.connect_officers("o1")
    assert b.state.sessions[fine].state == "offered"
    assert b.state.sessions[faulty].state == "queued"
    assert b.state.officers["o1"].offers == [fine]
    # A health report with a faulty document camera only does not stop routing.
    b.do(ev.BoothHealth("b1", camera_ok=True, document_camera="fault"))
    assert b.state.sessions[faulty].state == "offered"


def test_out_of_service_ends_a_waiting_session_but_lets_a_live_one_finish() -> None:
    b = Branch(officers=[("o1", 1, False)])
    b.connect_officers("o1")
    live = b.serve("o1", "b1")
    waiting = b.ready("b2")
    b.do(ev.SetOutOfService("b2", True, actor="ops", reason="maintenance"))
    assert waiting not in b.state.sessions
    assert b.visits[-1].reason == "out_of_service" and b.visits[-1].started_at is None
    assert b.messages("booth", "b2", "session_ended")[-1] == {
        "session_id": waiting, "reason": "out_of_service", "outcome": None}
    b.do(ev.SetOutOfService("b1", True, actor="ops"))
    assert b.state.sessions[live].state == "active"
    assert b.state.booths["b1"].last_display == "out_of_service"
    b.do(ev.Complete("o1", live, "claim_submitted"))
    assert b.state.booths["b1"].session_id is None
    b.do(ev.SetOutOfService("b1", False, actor="ops"))
    assert b.state.booths["b1"].last_display == "idle"
