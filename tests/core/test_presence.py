"""Officers and booths that go away: grace periods, requeue at the front, coming back intact."""

from __future__ import annotations

from booth_server.core import events as ev
from booth_server.core.views import officer_state

from .support import T0, Branch

# ---------------------------------------------------------------------------- officer loss


def test_an_officer_disconnect_withdraws_pending_offers_at_once() -> None:
    b = Branch(officers=[("o1", 2, False), ("o2", 2, False)])
    b.connect_officers("o1")
    s1, s2, s3 = b.ready("b1"), b.ready("b2"), b.ready("b3")
    assert b.state.officers["o1"].offers == [s1, s2]
    b.do(ev.OfficerDisconnected("o1"))
    officer = b.state.officers["o1"]
    assert officer.offers == [] and officer.lost_at is None
    assert officer.display_status == "offline"
    assert b.queue_ids() == [s1, s2, s3]  # original order kept
    assert [m["reason"] for m in b.messages("officer", "o1", "offer_withdrawn")] == [
        "officer_disconnected", "officer_disconnected"]
    b.connect_officers("o2")
    assert b.state.officers["o2"].offers == [s1, s2]


def test_a_lost_officers_sessions_survive_the_grace_then_go_to_the_front() -> None:
    b = Branch(officers=[("o1", 3, True), ("o2", 1, False)])
    b.connect_officers("o1")
    s1, s2 = b.serve("o1", "b1"), b.serve("o1", "b2")
    b.do(ev.Focus("o1", s2))
    b.do(ev.SetStatus("o1", "paused"))
    early = b.ready("b3", priority=9)  # waits: o1 is paused
    b.do(ev.OfficerDisconnected("o1"))
    assert b.state.officers["o1"].lost_at == T0
    assert b.dispatcher.next_deadline(b.state) == T0 + 20
    assert b.at(19.9).outbound == []
    assert b.state.sessions[s1].state == "active"
    b.sent.clear()
    b.at(20)
    officer = b.state.officers["o1"]
    assert officer.sessions == [] and officer.focus is None and officer.lost_at is None
    # Requeued at the front: ahead of the earlier high-priority arrival, in their old order.
    assert b.queue_ids() == [s1, s2, early]
    assert all(b.state.sessions[s].front for s in (s1, s2))
    assert [m["reason"] for m in b.messages("officer", "o1", "session_ended")] == [
        "officer_lost", "officer_lost"]
    assert [m["position"] for m in b.messages("booth", "b1", "queued")] == [1]
    assert [m["position"] for m in b.messages("booth", "b2", "queued")] == [2]
    assert [m["position"] for m in b.messages("booth", "b3", "queued")] == [3]
    # The next free officer takes the first of them.
    b.connect_officers("o2")
    assert b.state.officers["o2"].offers == [s1]
    b.do(ev.Accept("o2", s1))
    assert not b.state.sessions[s1].front


def test_an_officer_back_inside_the_grace_finds_everything_as_it_was() -> None:
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    s1, s2 = b.serve("o1", "b1"), b.serve("o1", "b2")
    b.do(ev.Focus("o1", s1))
    b.do(ev.DocumentUploaded("b1", s1, "d1", "ktp", {"sharpness": 0.9}))
    before = officer_state(b.state, "o1", b.now)
    b.do(ev.OfficerDisconnected("o1"))
    b.advance(19)
    b.sent.clear()
    b.do(ev.OfficerConnected("o1"))
    assert b.state.officers["o1"].lost_at is None
    assert officer_state(b.state, "o1", b.now) == before
    # Each booth re-offers its video to the reloaded console.
    for booth, sid in (("b1", s1), ("b2", s2)):
        assert b.messages("booth", booth, "assigned") == [
            {"session_id": sid, "officer": {"id": "o1", "name": "O1"}, "resumed": True}
        ]
    assert b.advance(30).audit == []
    assert b.state.sessions[s1].state == "active" and b.state.sessions[s1].focused


def test_a_stale_disconnect_of_an_officer_changes_nothing() -> None:
    b = Branch(officers=[("o1", 3, True)])
    b.do(ev.OfficerConnected("o1", conn="tab-1"))
    sid = b.serve("o1", "b1")
    b.do(ev.OfficerConnected("o1", conn="tab-2"))
    assert b.messages("booth", "b1", "assigned", last=True)[0]["resumed"] is True
    b.do(ev.OfficerDisconnected("o1", conn="tab-1"))
    assert b.state.officers["o1"].connected
    b.advance(60)
    assert b.state.sessions[sid].state == "active"
    b.do(ev.OfficerDisconnected("o1", conn="tab-2"))
    assert not b.state.officers["o1"].connected


def test_a_new_console_connection_is_recorded_as_a_change() -> None:
    # The Redis store persists a turn only when it reports a change: a second tab's connection
    # id must be saved, or the first tab's goodbye would take the officer offline.
    b = Branch()
    b.do(ev.OfficerConnected("o1", conn="tab-1"))
    result = b.do(ev.OfficerConnected("o1", conn="tab-2"))
    assert result.changed
    assert b.state.officers["o1"].conn == "tab-2"


# ---------------------------------------------------------------------------- booth loss


def test_a_lost_booth_keeps_its_live_session_for_the_grace_then_it_ends() -> None:
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    sid = b.serve("o1", "b1")
    b.do(ev.BoothDisconnected("b1"))
    assert b.state.booths["b1"].lost_at == T0
    assert b.dispatcher.next_deadline(b.state) == T0 + 20
    assert b.at(19.9).outbound == []
    assert b.state.sessions[sid].state == "active"
    b.sent.clear()
    b.at(20)
    assert sid not in b.state.sessions
    assert b.state.booths["b1"].session_id is None and b.state.booths["b1"].lost_at is None
    assert b.state.booths["b1"].last_display == "offline"
    assert b.messages("officer", "o1", "session_ended") == [
        {"session_id": sid, "reason": "booth_lost", "outcome": None}
    ]
    visit = b.visits[-1]
    assert (visit.session_id, visit.reason, visit.officer_id) == (sid, "booth_lost", "o1")
    assert visit.started_at == T0 and visit.ended_at == T0 + 20
    ended = [a for a in b.audit if a.event == "session_ended"][-1]
    assert (ended.session_id, ended.reason, ended.actor) == (sid, "booth_lost", "server")


def test_a_booth_back_inside_the_grace_keeps_its_session() -> None:
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    sid = b.serve("o1", "b1")
    b.do(ev.Focus("o1", sid))
    b.do(ev.BoothDisconnected("b1"))
    b.advance(10)
    b.sent.clear()
    b.do(ev.BoothConnected("b1"))
    assert b.messages("booth", "b1") == [
        {"session_id": sid, "officer": {"id": "o1", "name": "O1"}, "resumed": True},
        {"session_id": sid, "focused": True},
    ]
    assert b.state.booths["b1"].lost_at is None
    b.advance(60)
    assert b.state.sessions[sid].state == "active"
    # The kiosk restarted and says `ready` again: it gets the same session.
    assert b.do(ev.BoothReady("b1", "fresh")).reply["session_id"] == sid


def test_a_waiting_booth_that_is_lost_is_not_offered_and_leaves_the_queue_after_the_grace() -> None:
    b = Branch()
    s1, s2 = b.ready("b1"), b.ready("b2")
    b.do(ev.BoothDisconnected("b1"))
    b.connect_officers("o1")
    assert b.state.sessions[s1].state == "queued"
    assert b.state.officers["o1"].offers == [s2]
    b.at(20)
    assert s1 not in b.state.sessions
    assert b.visits[-1].reason == "booth_lost" and b.visits[-1].started_at is None


def test_a_waiting_booth_back_inside_the_grace_hears_its_position_again() -> None:
    b = Branch()
    s1, s2 = b.ready("b1"), b.ready("b2")
    b.do(ev.BoothDisconnected("b1"))
    b.advance(5)
    b.sent.clear()
    b.do(ev.BoothConnected("b1"))
    assert b.messages("booth", "b1", "queued") == [
        {"session_id": s1, "position": 1, "estimated_wait_s": 600.0}
    ]
    b.connect_officers("o1")
    assert b.state.officers["o1"].offers == [s1, s2]


def test_an_offer_to_a_booth_that_drops_can_still_be_taken_and_ends_after_the_grace() -> None:
    b = Branch()
    b.connect_officers("o1")
    sid = b.ready("b1")
    b.do(ev.BoothDisconnected("b1"))
    b.advance(5)
    b.do(ev.Accept("o1", sid))
    b.at(20)
    assert sid not in b.state.sessions
    assert b.visits[-1].reason == "booth_lost"


def test_a_stale_disconnect_of_a_booth_changes_nothing() -> None:
    b = Branch()
    b.do(ev.BoothConnected("b1", conn="c1"))
    sid = b.ready("b1")
    b.do(ev.BoothConnected("b1", conn="c2"))
    assert b.do(ev.BoothDisconnected("b1", conn="c1")).audit == []
    assert b.state.booths["b1"].connected
    b.advance(60)
    assert sid in b.state.sessions


def test_a_booth_that_is_not_connected_cannot_queue() -> None:
    # A `ready` that arrives after its socket's goodbye would make a session no officer can
    # ever be offered and no grace period would end.
    b = Branch()
    b.refuse(ev.BoothReady("b1", "s1"), "conflict")
    b.connect_booths("b1")
    b.do(ev.BoothDisconnected("b1"))
    b.refuse(ev.BoothReady("b1", "s1"), "conflict")


def test_officer_and_booth_lost_together() -> None:
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    sid = b.serve("o1", "b1")
    b.do(ev.OfficerDisconnected("o1"))
    b.advance(5)
    b.do(ev.BoothDisconnected("b1"))
    b.advance(15)  # officer's grace over: requeued at the front, booth still in its grace
    assert b.state.sessions[sid].state == "queued" and b.state.sessions[sid].front
    b.advance(5)  # booth's grace over
    assert sid not in b.state.sessions
    assert [v.reason for v in b.visits] == ["booth_lost"]


def test_a_grace_period_that_ends_with_nothing_left_to_do_is_still_a_change() -> None:
    # The timer sleeps until next_deadline; the turn that clears a spent grace period must be
    # saved (the store persists changed turns only), or the deadline would stay in the past.
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    sid = b.serve("o1", "b1")
    b.do(ev.BoothDisconnected("b1"))
    b.do(ev.OfficerDisconnected("o1"))
    b.advance(5)
    b.do(ev.Complete("o1", sid, "claim_submitted"))
    assert b.dispatcher.next_deadline(b.state) == T0 + 20
    result = b.at(20)
    assert b.state.booths["b1"].lost_at is None and b.state.officers["o1"].lost_at is None
    assert result.changed
    assert b.dispatcher.next_deadline(b.state) is None
