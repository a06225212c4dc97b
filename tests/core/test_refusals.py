"""Every refusal names its error code and leaves the state exactly as it was."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from booth_server.core import events as ev
from booth_server.core.dispatcher import Policy

from .support import Branch, snapshot


def busy_branch() -> Branch:
    """o1 serves b1 (live, with a document) and holds an offer for b2; b3 waits; o2 is full."""
    b = Branch(officers=[("o1", 2, False), ("o2", 1, True), ("o3", 2, False)])
    b.connect_officers("o2")
    b.serve("o2", "b4")
    b.connect_officers("o1")
    b.serve("o1", "b1")
    b.do(ev.DocumentUploaded("b1", "s-b1-2", "doc-1", "ktp", {}))
    b.ready("b2")
    b.do(ev.SetStatus("o1", "paused"))
    b.ready("b3")
    b.connect_booths("b5")
    b.do(ev.SetOutOfService("b6", True, actor="ops"))
    assert b.state.sessions["s-b2-3"].state == "offered"
    assert b.state.sessions["s-b3-4"].state == "queued"
    return b


LIVE, OFFERED, QUEUED, OTHER = "s-b1-2", "s-b2-3", "s-b3-4", "s-b4-1"

REFUSALS: list[tuple[str, ev.Event, str]] = [
    ("unknown booth connects", ev.BoothConnected("zz"), "not_found"),
    ("unknown booth leaves", ev.BoothDisconnected("zz"), "not_found"),
    ("unknown booth ready", ev.BoothReady("zz", "new"), "not_found"),
    ("ready out of service", ev.BoothReady("b6", "new"), "conflict"),
    ("ready with a used id", ev.BoothReady("b5", LIVE), "conflict"),
    ("priority too high", ev.BoothReady("b5", "new", priority=10), "invalid"),
    ("priority negative", ev.BoothReady("b5", "new", priority=-1), "invalid"),
    ("cancel unknown session", ev.BoothCancel("b5", "nope"), "not_found"),
    ("cancel another booth's session", ev.BoothCancel("b5", LIVE), "not_found"),
    ("health of unknown booth", ev.BoothHealth("zz", camera_ok=False), "not_found"),
    ("unknown officer connects", ev.OfficerConnected("zz"), "not_found"),
    ("unknown officer leaves", ev.OfficerDisconnected("zz"), "not_found"),
    ("status of unknown officer", ev.SetStatus("zz", "paused"), "not_found"),
    ("unknown status", ev.SetStatus("o1", "asleep"), "invalid"),  # type: ignore[arg-type]
    ("accept without an offer", ev.Accept("o3", OFFERED), "not_found"),
    ("accept a live session", ev.Accept("o1", LIVE), "not_found"),
    ("accept a queued session", ev.Accept("o1", QUEUED), "not_found"),
    ("accept unknown", ev.Accept("o1", "nope"), "not_found"),
    ("decline without an offer", ev.Decline("o3", OFFERED), "not_found"),
    ("decline a live session", ev.Decline("o1", LIVE), "not_found"),
    ("focus another's session", ev.Focus("o3", LIVE), "not_found"),
    ("focus an offer", ev.Focus("o1", OFFERED), "conflict"),
    ("focus a queued session", ev.Focus("o1", QUEUED), "not_found"),
    ("request from another", ev.RequestDocument("o3", LIVE, "ktp"), "not_found"),
    ("request an unknown kind", ev.RequestDocument("o1", LIVE, "visa"), "invalid"),
    ("request on an offer", ev.RequestDocument("o1", OFFERED, "ktp"), "conflict"),
    ("upload by another booth", ev.DocumentUploaded("b3", LIVE, "d", "ktp", {}), "not_found"),
    ("upload to an offer", ev.DocumentUploaded("b2", OFFERED, "d", "ktp", {}), "conflict"),
    ("upload to a queued", ev.DocumentUploaded("b3", QUEUED, "d", "ktp", {}), "conflict"),
    ("upload an unknown kind", ev.DocumentUploaded("b1", LIVE, "d", "visa", {}), "invalid"),
    ("review by another", ev.ReviewDocument("o2", "doc-1", "approved"), "not_found"),
    ("review unknown document", ev.ReviewDocument("o1", "doc-9", "approved"), "not_found"),
    ("review bad status", ev.ReviewDocument("o1", "doc-1", "ok"), "invalid"),  # type: ignore[arg-type]
    ("complete another's", ev.Complete("o2", LIVE, "claim_submitted"), "not_found"),
    ("complete an offer", ev.Complete("o1", OFFERED, "claim_submitted"), "conflict"),
    ("complete bad outcome", ev.Complete("o1", LIVE, "finished"), "invalid"),
    ("transfer another's", ev.Transfer("o3", LIVE, "o2"), "not_found"),
    ("transfer an offer", ev.Transfer("o1", OFFERED, None), "conflict"),
    ("transfer to unknown", ev.Transfer("o1", LIVE, "zz"), "not_found"),
    ("transfer to self", ev.Transfer("o1", LIVE, "o1"), "conflict"),
    ("transfer to offline", ev.Transfer("o1", LIVE, "o3"), "conflict"),
    ("transfer to full", ev.Transfer("o1", LIVE, "o2"), "conflict"),
    ("out of service unknown", ev.SetOutOfService("zz", True, actor="ops"), "not_found"),
]


@pytest.mark.parametrize(
    ("event", "code"), [(e, c) for _, e, c in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_refusal(event: ev.Event, code: str) -> None:
    b = busy_branch()
    error = b.refuse(event, code)
    assert error.message
    assert error.ack() == {"ok": False, "error": {"code": code, "message": error.message}}


def test_a_refusal_after_a_deadline_has_passed_changes_nothing_either() -> None:
    # Expiry runs after the event's own handler, so a refused event must not half-apply it.
    b = busy_branch()
    b.now += 100
    b.refuse(ev.Complete("o1", LIVE, "finished"), "invalid")
    b.refuse(ev.Accept("o3", OFFERED), "not_found")
    assert b.state.sessions[OFFERED].state == "offered"


SILENT: list[tuple[str, Callable[[Branch], ev.Event]]] = [
    ("disconnect of an absent booth", lambda b: ev.BoothDisconnected("b6")),
    ("disconnect of an absent officer", lambda b: ev.OfficerDisconnected("o3")),
    ("same health again", lambda b: ev.BoothHealth("b1", camera_ok=True)),
    ("same service state again", lambda b: ev.SetOutOfService("b6", True, actor="ops")),
    ("tick before any deadline", lambda b: ev.Tick()),
]


@pytest.mark.parametrize(("event_of",), [(f,) for _, f in SILENT], ids=[n for n, _ in SILENT])
def test_no_op_events_change_nothing(event_of: Callable[[Branch], ev.Event]) -> None:
    b = busy_branch()
    before = snapshot(b.state)
    result = b.do(event_of(b))
    assert not result.changed and result.outbound == [] and result.audit == []
    assert snapshot(b.state) == before


def test_an_accept_after_the_offer_expired_is_refused() -> None:
    # The timer may fire a little late; an answer that comes after the deadline must not win
    # over the expiry the officer was told about (expires_in_s).
    b = Branch(policy=Policy(offer_timeout_s=15))
    b.connect_officers("o1")
    sid = b.ready("b1")
    b.now += 15.5
    b.refuse(ev.Accept("o1", sid), "conflict")
