from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCPeerConnection, VideoStreamTrack

from booth_client import ice, messages
from booth_client.session import sdp_problem


def test_valid_messages_parse() -> None:
    assert messages.parse_queued({"session_id": "s-1", "position": 2}).position == 2
    a = messages.parse_assigned(
        {"session_id": "s-1", "officer": {"id": "cso1", "name": "Budi"}, "ice_servers": []}
    )
    assert (a.officer_name, a.ice_servers, a.resumed) == ("Budi", [], False)
    resumed = messages.parse_assigned({"session_id": "s-1", "resumed": True})
    assert resumed.ice_servers is None and resumed.resumed  # keep the servers already known
    end = messages.parse_signal({"session_id": "s-1", "candidate": None})
    assert end.has_candidate and end.candidate is None and end.description is None
    sdp = messages.parse_signal(
        {"session_id": "s-1", "description": {"type": "answer", "sdp": "v=0\r\n"}}
    )
    assert sdp.description is not None and sdp.description.type == "answer"
    assert messages.parse_focus({"session_id": "s-1", "focused": True}).focused
    assert messages.parse_document_requested({"session_id": "s", "kind": "npwp"}).kind == "npwp"
    reviewed = messages.parse_document_reviewed(
        {"session_id": "s", "document_id": "d", "status": "rejected", "reason": "buram"}
    )
    assert reviewed.reason == "buram"
    assert messages.parse_session_ended({"session_id": "s", "reason": "completed"}).reason
    ack = messages.parse_ready_ack({"ok": True, "session_id": "s-9", "position": 0})
    assert isinstance(ack, messages.ReadyAck) and ack.session_id == "s-9"
    err = messages.parse_ready_ack({"ok": False, "error": {"code": "conflict", "message": "m"}})
    assert isinstance(err, messages.ErrorAck) and err.code == "conflict"


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (messages.parse_queued, "nope"),
        (messages.parse_queued, {"session_id": ""}),
        (messages.parse_queued, {"session_id": "s", "position": -1}),
        (messages.parse_queued, {"session_id": "s", "position": True}),
        (messages.parse_assigned, {"session_id": "s", "ice_servers": "stun:x"}),
        (messages.parse_assigned, {"session_id": "s", "officer": "Budi"}),
        (messages.parse_signal, {"session_id": "s"}),
        (
            messages.parse_signal,
            {"session_id": "s", "description": {"type": "pranswer", "sdp": "v=0"}},
        ),
        (
            messages.parse_signal,
            {"session_id": "s", "description": {"type": "offer", "sdp": "hello"}},
        ),
        (messages.parse_signal, {"session_id": "s", "candidate": "candidate:1 1 udp"}),
        (messages.parse_focus, {"session_id": "s", "focused": "yes"}),
        (messages.parse_document_requested, {"session_id": "s", "kind": "passport"}),
        (messages.parse_document_reviewed, {"session_id": "s", "document_id": "d", "status": "ok"}),
        (messages.parse_session_ended, {"session_id": 5}),
        (messages.parse_ready_ack, {"ok": True}),
        (messages.parse_ready_ack, None),
    ],
)
def test_invalid_messages_are_refused(parse: Any, data: Any) -> None:
    with pytest.raises(messages.InvalidMessage):
        parse(data)


async def test_sdp_problem() -> None:
    assert sdp_problem("v=0\r\ngarbage\r\n") == "no media sections"
    pc = RTCPeerConnection(ice.rtc_configuration([]))
    try:
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        good = pc.localDescription.sdp
        assert sdp_problem(good) is None
        no_fingerprint = "\r\n".join(
            line for line in good.split("\r\n") if not line.startswith("a=fingerprint")
        )
        assert "DTLS" in (sdp_problem(no_fingerprint) or "")
    finally:
        await pc.close()
