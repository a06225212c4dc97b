"""A live session: focus, documents, transfer, completion."""

from __future__ import annotations

import pytest

from booth_server.core import events as ev

from .support import T0, Branch


def two_live_sessions() -> tuple[Branch, str, str]:
    b = Branch(officers=[("o1", 3, True), ("o2", 3, True)])
    b.connect_officers("o1")
    s1, s2 = b.serve("o1", "b1"), b.serve("o1", "b2")
    return b, s1, s2


# ---------------------------------------------------------------------------- focus


def test_focus_is_one_booth_at_a_time_and_each_booth_is_told() -> None:
    b, s1, s2 = two_live_sessions()
    b.sent.clear()
    assert b.do(ev.Focus("o1", s1)).reply == {"focus": s1}
    assert b.messages("booth", "b1") == [{"session_id": s1, "focused": True}]
    assert b.messages("booth", "b2") == []
    b.sent.clear()
    b.do(ev.Focus("o1", s2))
    assert b.messages("booth", "b1") == [{"session_id": s1, "focused": False}]
    assert b.messages("booth", "b2") == [{"session_id": s2, "focused": True}]
    assert b.state.officers["o1"].focus == s2
    assert [s.focused for s in (b.state.sessions[s1], b.state.sessions[s2])] == [False, True]
    b.sent.clear()
    assert b.do(ev.Focus("o1", None)).reply == {"focus": None}
    assert b.messages("booth", "b2") == [{"session_id": s2, "focused": False}]
    assert not any(s.focused for s in b.state.sessions.values())


def test_focus_is_only_on_the_officers_own_live_sessions() -> None:
    b, s1, _ = two_live_sessions()
    b.connect_officers("o2")
    b.refuse(ev.Focus("o2", s1), "not_found")
    b.refuse(ev.Focus("o1", "nope"), "not_found")
    b.refuse(ev.Focus("o9", s1), "not_found")
    b.do(ev.SetStatus("o2", "paused"))
    b.do(ev.SetStatus("o1", "paused"))
    b2 = Branch()
    b2.connect_officers("o1")
    offered = b2.ready("b1")
    b2.refuse(ev.Focus("o1", offered), "conflict")


def test_a_focused_session_that_ends_leaves_the_officer_unfocused() -> None:
    b, s1, _ = two_live_sessions()
    b.do(ev.Focus("o1", s1))
    b.do(ev.Complete("o1", s1, "referred"))
    assert b.state.officers["o1"].focus is None


# ---------------------------------------------------------------------------- documents


def test_documents_flow_only_between_the_two_parties() -> None:
    b, s1, _ = two_live_sessions()
    b.connect_officers("o2")
    b.serve("o2", "b3")
    b.sent.clear()
    b.do(ev.RequestDocument("o1", s1, "ktp"))
    assert b.messages() == [{"session_id": s1, "kind": "ktp"}]
    assert b.sent[0].role == "booth" and b.sent[0].to == "b1"
    assert b.state.sessions[s1].requested_document == "ktp"
    b.sent.clear()
    b.do(ev.DocumentUploaded("b1", s1, "doc-1", "ktp", {"sharpness": 0.8, "glare": False}))
    assert [(m.role, m.to, m.event) for m in b.sent] == [("officer", "o1", "document_ready")]
    assert b.sent[0].data == {"session_id": s1, "document_id": "doc-1", "kind": "ktp",
                              "quality": {"sharpness": 0.8, "glare": False}}
    assert b.state.sessions[s1].requested_document is None
    b.sent.clear()
    b.do(ev.ReviewDocument("o1", "doc-1", "rejected", reason="blurred"))
    assert [(m.role, m.to, m.event) for m in b.sent] == [("booth", "b1", "document_reviewed")]
    assert b.sent[0].data == {"session_id": s1, "document_id": "doc-1", "status": "rejected",
                              "reason": "blurred", "kind": "ktp"}
    record = b.state.sessions[s1].documents["doc-1"]
    assert (record.status, record.reason) == ("rejected", "blurred")
    assert b.audit_events(s1)[-3:] == [
        "document_requested", "document_uploaded", "document_reviewed"]
    # Anyone else is refused, and nothing changes.
    b.refuse(ev.RequestDocument("o2", s1, "kk"), "not_found")
    b.refuse(ev.RequestDocument("o1", s1, "passport"), "invalid")
    b.refuse(ev.DocumentUploaded("b2", s1, "doc-2", "kk", {}), "not_found")
    b.refuse(ev.DocumentUploaded("b3", s1, "doc-2", "kk", {}), "not_found")
    b.refuse(ev.DocumentUploaded("b1", s1, "doc-2", "passport", {}), "invalid")
    b.refuse(ev.ReviewDocument("o2", "doc-1", "approved"), "not_found")
    b.refuse(ev.ReviewDocument("o1", "doc-404", "approved"), "not_found")
    b.refuse(ev.ReviewDocument("o1", "doc-1", "maybe"), "invalid")  # type: ignore[arg-type]


def test_documents_need_a_live_session() -> None:
    b = Branch()
    b.connect_officers("o1")
    offered = b.ready("b1")
    b.refuse(ev.RequestDocument("o1", offered, "ktp"), "conflict")
    b.refuse(ev.DocumentUploaded("b1", offered, "d", "ktp", {}), "conflict")


def test_documents_follow_a_transferred_session_to_its_new_officer() -> None:
    b, s1, _ = two_live_sessions()
    b.do(ev.DocumentUploaded("b1", s1, "doc-1", "kpj", {}))
    b.connect_officers("o2")
    b.do(ev.Transfer("o1", s1, "o2"))
    b.refuse(ev.ReviewDocument("o1", "doc-1", "approved"), "not_found")
    b.do(ev.ReviewDocument("o2", "doc-1", "approved"))
    assert b.state.sessions[s1].documents["doc-1"].status == "approved"


# ---------------------------------------------------------------------------- transfer


def test_transfer_to_another_officer_moves_the_live_session() -> None:
    b, s1, s2 = two_live_sessions()
    b.do(ev.Focus("o1", s1))
    b.connect_officers("o2")
    b.now += 30
    b.sent.clear()
    b.do(ev.Transfer("o1", s1, "o2"))
    session = b.state.sessions[s1]
    assert (session.state, session.officer_id, session.transfers) == ("active", "o2", 1)
    assert not session.focused and b.state.officers["o1"].focus is None
    assert b.state.officers["o1"].sessions == [s2]
    assert b.state.officers["o2"].sessions == [s1]
    assert b.messages("officer", "o1") == [{"session_id": s1, "reason": "transferred"}]
    assert [m["session_id"] for m in b.messages("officer", "o2", "session_started")] == [s1]
    assert b.messages("booth", "b1", "assigned") == [
        {"session_id": s1, "officer": {"id": "o2", "name": "O2"}}]
    # The visit keeps its first start: wait and handling times span both officers.
    assert session.first_started_at == T0 and session.started_at == T0 + 30
    b.now += 30
    b.do(ev.Complete("o2", s1, "claim_submitted", note="ok"))
    visit = b.visits[-1]
    assert (visit.officer_id, visit.outcome, visit.note) == ("o2", "claim_submitted", "ok")
    assert visit.handle_s == 60


def test_transfer_checks_the_target() -> None:
    b, s1, _ = two_live_sessions()
    b.refuse(ev.Transfer("o1", s1, "o2"), "conflict")  # offline
    b.refuse(ev.Transfer("o1", s1, "o9"), "not_found")
    b.refuse(ev.Transfer("o1", s1, "o1"), "conflict")
    b.refuse(ev.Transfer("o2", s1, "o1"), "not_found")  # not o2's session
    b.refuse(ev.Transfer("o1", "nope", "o2"), "not_found")
    b.connect_officers("o2")
    b.do(ev.SetStatus("o2", "paused"))
    b.refuse(ev.Transfer("o1", s1, "o2"), "conflict")
    b.do(ev.SetStatus("o2", "available"))
    b.do(ev.SetStatus("o1", "paused"))
    for booth in ("b3", "b4", "b5"):
        b.serve("o2", booth)
    b.do(ev.SetStatus("o1", "available"))
    assert b.state.officers["o2"].free == 0
    b.refuse(ev.Transfer("o1", s1, "o2"), "conflict")  # full


def test_an_offer_cannot_be_transferred() -> None:
    b = Branch(officers=[("o1", 2, False), ("o2", 2, False)])
    b.connect_officers("o1")
    offered = b.ready("b1")
    b.connect_officers("o2")
    b.refuse(ev.Transfer("o1", offered, "o2"), "conflict")
    b.refuse(ev.Transfer("o1", offered, None), "conflict")


def test_transfer_back_to_the_queue_puts_it_at_the_front_for_another_officer() -> None:
    b = Branch(officers=[("o1", 5, True), ("o2", 5, False)])
    b.connect_officers("o1")
    s1 = b.serve("o1", "b1")
    # o2 is busier than o1, yet the session o1 hands back must not bounce back to o1.
    b.connect_officers("o2")
    b.do(ev.SetStatus("o1", "paused"))
    for booth in ("b3", "b4", "b5"):
        b.serve("o2", booth)
    b.do(ev.SetStatus("o1", "available"))
    waiting = b.ready("b2", priority=9)
    assert b.state.sessions[waiting].officer_id == "o1"
    b.do(ev.SetStatus("o2", "paused"))
    b.sent.clear()
    b.do(ev.Transfer("o1", s1, None))
    session = b.state.sessions[s1]
    assert (session.state, session.front, session.transfers) == ("queued", True, 1)
    assert b.messages("officer", "o1", "session_ended") == [
        {"session_id": s1, "reason": "transferred"}]
    assert b.queue_ids() == [s1]
    assert b.messages("booth", "b1", "queued")[-1]["position"] == 1
    b.do(ev.SetStatus("o2", "available"))
    assert b.state.sessions[s1].officer_id == "o2"


def test_a_live_session_of_an_out_of_service_booth_does_not_go_back_to_the_queue() -> None:
    # Nobody may be routed to an out-of-service booth, so a session handed back to the queue
    # (or whose officer is lost) would wait there for ever: it ends instead.
    b = Branch(officers=[("o1", 3, True)])
    b.connect_officers("o1")
    s1, s2 = b.serve("o1", "b1"), b.serve("o1", "b2")
    b.do(ev.SetOutOfService("b1", True, actor="ops"))
    b.do(ev.SetOutOfService("b2", True, actor="ops"))
    b.do(ev.Transfer("o1", s1, None))
    assert s1 not in b.state.sessions
    assert b.visits[-1].reason == "out_of_service"
    b.do(ev.OfficerDisconnected("o1"))
    b.advance(20)
    assert s2 not in b.state.sessions
    assert b.visits[-1].reason == "out_of_service"
    assert b.state.queue() == []


# ---------------------------------------------------------------------------- completion


def test_complete_records_the_visit_with_wait_and_handling_times() -> None:
    b = Branch()
    b.connect_officers("o1")
    b.connect_booths("b1")
    b.do(ev.BoothReady("b1", "s1", ticket="A7"))
    b.now += 12
    b.do(ev.Accept("o1", "s1"))
    b.now += 300
    b.sent.clear()
    result = b.do(ev.Complete("o1", "s1", "incomplete_documents", note="no KK"))
    assert "s1" not in b.state.sessions
    assert b.state.booths["b1"].session_id is None
    assert b.state.officers["o1"].load == 0
    assert b.state.completed == 1
    assert b.state.mean_handle_s == pytest.approx(600 + (300 - 600) * 0.1)
    (visit,) = result.visits
    assert (visit.ticket, visit.outcome, visit.reason, visit.note) == (
        "A7", "incomplete_documents", "completed", "no KK")
    assert (visit.wait_s, visit.handle_s) == (12, 300)
    ended = {"session_id": "s1", "reason": "completed", "outcome": "incomplete_documents"}
    assert b.messages("booth", "b1") == [ended]
    assert b.messages("officer", "o1") == [ended]
    entry = result.audit[-1]
    assert (entry.event, entry.actor, entry.from_state, entry.to_state, entry.reason) == (
        "session_ended", "o1", "active", "ended", "completed")


def test_complete_needs_a_known_outcome_and_a_live_session_of_ones_own() -> None:
    b, s1, _ = two_live_sessions()
    b.connect_officers("o2")
    b.refuse(ev.Complete("o1", s1, "done"), "invalid")
    b.refuse(ev.Complete("o2", s1, "claim_submitted"), "not_found")
    b.refuse(ev.Complete("o1", "nope", "claim_submitted"), "not_found")
    b2 = Branch()
    b2.connect_officers("o1")
    offered = b2.ready("b1")
    b2.refuse(ev.Complete("o1", offered, "claim_submitted"), "conflict")


def test_a_participant_who_leaves_ends_the_session() -> None:
    b, s1, _ = two_live_sessions()
    b.sent.clear()
    b.do(ev.BoothCancel("b1", s1, reason="left"))
    assert s1 not in b.state.sessions
    assert b.messages("officer", "o1") == [{"session_id": s1, "reason": "left", "outcome": None}]
    assert b.visits[-1].reason == "left"
    b.refuse(ev.BoothCancel("b2", s1), "not_found")
    b.refuse(ev.BoothCancel("b1", "s-b2-2"), "not_found")
