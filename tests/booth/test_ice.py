from __future__ import annotations

import aioice.ice
import pytest
from aiortc import RTCPeerConnection, VideoStreamTrack

from booth_client import ice


async def _gathered_addresses() -> list[str]:
    pc = RTCPeerConnection(ice.rtc_configuration([]))
    try:
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        lines = [
            line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate:")
        ]
        return [ice.candidate_from_wire({"candidate": line, "sdpMid": "0"}).ip for line in lines]
    finally:
        await pc.close()


async def test_host_candidates_only_from_the_ice_host() -> None:
    # conftest applies --ice-host 127.0.0.1 to every test
    assert ice.current_ice_host() == "127.0.0.1"
    addresses = await _gathered_addresses()
    assert addresses and set(addresses) == {"127.0.0.1"}


async def test_restore_gathers_on_every_interface_again() -> None:
    with ice.ice_host(None):
        assert aioice.ice.get_host_addresses is ice._ORIGINAL_GET_HOST_ADDRESSES
        assert "127.0.0.1" not in await _gathered_addresses()  # aioice skips loopback
    assert ice.current_ice_host() == "127.0.0.1"


def test_validate_ice_host() -> None:
    assert ice.validate_ice_host(" 127.0.0.1 ") == "127.0.0.1"
    for bad, match in [
        ("not-an-ip", "not an IP"),
        ("0.0.0.0", "concrete"),
        ("192.0.2.77", "not an address of this machine"),  # TEST-NET-1, never local
    ]:
        with pytest.raises(ValueError, match=match):
            ice.validate_ice_host(bad)


def test_ice_servers_from_wire() -> None:
    servers = ice.ice_servers_from_wire(
        [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": ["turn:t.example.org:3478"], "username": "u", "credential": "c"},
            {"urls": ["https://nope"]},
            "garbage",
            {"username": "no urls"},
        ]
    )
    assert [s.urls for s in servers] == [
        ["stun:stun.example.org:3478"],
        ["turn:t.example.org:3478"],
    ]
    assert servers[1].username == "u" and servers[1].credential == "c"
    assert ice.ice_servers_from_wire(None) == []
    assert ice.ice_servers_from_wire({"urls": "x"}) == []
    # An empty list stays empty (aiortc would otherwise add Google's public STUN server).
    assert ice.rtc_configuration([]).iceServers == []


def test_candidate_round_trip_and_errors() -> None:
    wire = {
        "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    cand = ice.candidate_from_wire(wire)
    assert (cand.ip, cand.port, cand.type, cand.sdpMid) == ("127.0.0.1", 50000, "host", "0")
    assert ice.candidate_to_wire(cand)["candidate"].startswith("candidate:")
    for bad in [
        {"candidate": "", "sdpMid": "0"},
        {"candidate": "candidate:1 1 udp", "sdpMid": "0"},
        {"candidate": "candidate:1 1 udp x 127.0.0.1 5 typ host", "sdpMid": "0"},
        {"candidate": wire["candidate"]},
        {"candidate": wire["candidate"], "sdpMid": 3},
        {"candidate": wire["candidate"], "sdpMLineIndex": -1},
    ]:
        with pytest.raises(ValueError):
            ice.candidate_from_wire(bad)
