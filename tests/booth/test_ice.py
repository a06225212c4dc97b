from __future__ import annotations

import aioice.ice
import pytest
from aioice import Candidate, Connection, stun
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


def _host_candidate(address: str, port: int = 50000) -> Candidate:
    return Candidate(
        foundation="1", component=1, transport="udp", priority=2130706431,
        host=address, port=port, type="host",
    )  # fmt: skip


async def test_a_loopback_ice_host_pairs_only_with_loopback_candidates() -> None:
    # A browser signals its interface addresses beside 127.0.0.1; the kiosk must not send
    # checks to them.
    connection = Connection(ice_controlling=True)
    try:
        await connection.gather_candidates()
        for address in ["192.0.2.2", "fd00::2", "127.0.0.1", "::1", "127.0.0.2"]:
            await connection.add_remote_candidate(_host_candidate(address))
        assert [c.host for c in connection.remote_candidates] == ["127.0.0.1", "::1", "127.0.0.2"]
        pairs = connection._check_list
        assert pairs and all(p.remote_addr[0].startswith("127.") for p in pairs), pairs
    finally:
        await connection.close()
    assert ice.remote_address_allowed("127.8.9.10") and ice.remote_address_allowed("::1")
    assert not ice.remote_address_allowed("10.0.0.5")
    assert not ice.remote_address_allowed("fe80::1%eth0")


class _Sent:
    """A StunProtocol stand-in that keeps what the connection sends."""

    def __init__(self, local: Candidate) -> None:
        self.local_candidate = local
        self.sent: list[tuple[stun.Message, tuple[str, int]]] = []

    def send_stun(self, message: stun.Message, addr: tuple[str, int]) -> None:
        self.sent.append((message, addr))


async def test_a_loopback_ice_host_answers_no_check_from_outside_loopback() -> None:
    connection = Connection(ice_controlling=False)
    try:
        await connection.gather_candidates()
        protocol = _Sent(connection.local_candidates[0])

        def check() -> stun.Message:
            request = stun.Message(
                message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST
            )
            request.attributes["USERNAME"] = f"{connection.local_username}:peer"
            request.attributes["PRIORITY"] = 1853824767
            request.attributes["ICE-CONTROLLING"] = 1
            request.add_message_integrity(connection.local_password.encode("utf8"))
            return request

        connection.request_received(check(), ("192.0.2.2", 40000), protocol)  # type: ignore[arg-type]
        assert protocol.sent == []  # no answer, no peer-reflexive candidate
        connection.request_received(check(), ("127.0.0.1", 40000), protocol)  # type: ignore[arg-type]
        assert [addr for _, addr in protocol.sent] == [("127.0.0.1", 40000)]
        assert protocol.sent[0][0].message_class == stun.Class.RESPONSE
    finally:
        await connection.close()


async def test_without_an_ice_host_every_remote_candidate_is_taken() -> None:
    with ice.ice_host(None):
        assert aioice.ice.validate_remote_candidate is ice._ORIGINAL_VALIDATE_REMOTE_CANDIDATE
        assert Connection.request_received is ice._ORIGINAL_REQUEST_RECEIVED
        assert ice.remote_address_allowed("192.0.2.2")
        connection = Connection(ice_controlling=True)
        try:
            await connection.add_remote_candidate(_host_candidate("192.0.2.2"))
            assert [c.host for c in connection.remote_candidates] == ["192.0.2.2"]
        finally:
            await connection.close()


def test_a_lan_ice_host_ignores_loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    # As nICEr does: a loopback candidate pairs only with another loopback candidate.
    monkeypatch.setattr(ice, "_current_host", "192.0.2.2")
    assert ice.remote_address_allowed("192.0.2.77") and ice.remote_address_allowed("2001:db8::1")
    assert not ice.remote_address_allowed("127.0.0.1") and not ice.remote_address_allowed("::1")


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
