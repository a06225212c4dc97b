"""ICE configuration for the kiosk: ``--ice-host`` and the server's ``ice_servers``.

aiortc gathers host candidates through aioice, which asks ``aioice.ice.get_host_addresses``
for every address of every interface (and always leaves out 127.0.0.1 and ::1). aioice has
no option to choose addresses, so ``restrict_host_candidates(ADDR)`` replaces that function
with one that answers only ``ADDR``. aioice looks the function up at gathering time, so this
works for every peer connection created afterwards, in this process. That is the point: a
kiosk with several networks (LAN, LTE modem, VPN) offers only the LAN address, and tests
gather on loopback only. Server-reflexive and relay candidates still come from the STUN/TURN
servers in the RTCConfiguration; tests pass ``iceServers=[]`` so nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

_ORIGINAL_GET_HOST_ADDRESSES = aioice.ice.get_host_addresses
_current_host: str | None = None


def validate_ice_host(address: str) -> str:
    """Normalise ``address`` and check it is an address of this machine (it can be bound).

    Raises ValueError with a message naming the address otherwise.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        raise ValueError(f"--ice-host {address!r} is not an IP address") from None
    if ip.is_unspecified or ip.is_multicast:
        raise ValueError(f"--ice-host {address!r} must be one concrete local address")
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((str(ip), 0))
    except OSError as exc:
        raise ValueError(
            f"--ice-host {address!r} is not an address of this machine: {exc}"
        ) from None
    return str(ip)


def restrict_host_candidates(address: str | None) -> None:
    """Gather ICE host candidates only from ``address`` (None restores all interfaces).

    Call it before creating peer connections; it affects the whole process.
    """
    global _current_host
    if address is None:
        aioice.ice.get_host_addresses = _ORIGINAL_GET_HOST_ADDRESSES
        _current_host = None
        return
    host = validate_ice_host(address)
    version = ipaddress.ip_address(host).version

    def only_host(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
            return [host]
        return []

    aioice.ice.get_host_addresses = only_host
    _current_host = host
    log.info("ICE host candidates restricted to %s", host)


def current_ice_host() -> str | None:
    return _current_host


@contextmanager
def ice_host(address: str | None) -> Iterator[None]:
    """``restrict_host_candidates`` for a block; restores the previous setting after it."""
    previous = _current_host
    restrict_host_candidates(address)
    try:
        yield
    finally:
        restrict_host_candidates(previous)


def ice_servers_from_wire(servers: Any) -> list[RTCIceServer]:
    """Map the server's ``ice_servers`` (WebRTC ``RTCIceServer`` dicts) to aiortc objects.

    Entries that are malformed are skipped with a warning rather than failing the session.
    aiortc supports stun:, turn: and turns: URLs.
    """
    result: list[RTCIceServer] = []
    if servers is None:
        return result
    if not isinstance(servers, list):
        log.warning("ice_servers is not a list: %r", servers)
        return result
    for entry in servers:
        if not isinstance(entry, Mapping):
            log.warning("ignoring ice server entry %r", entry)
            continue
        urls = entry.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            log.warning("ignoring ice server entry without urls: %r", entry)
            continue
        usable = [u for u in urls if u.split(":", 1)[0] in ("stun", "turn", "turns")]
        if not usable:
            log.warning("ignoring ice server entry with unsupported urls: %r", urls)
            continue
        username = entry.get("username")
        credential = entry.get("credential")
        result.append(
            RTCIceServer(
                urls=usable,
                username=username if isinstance(username, str) else None,
                credential=credential if isinstance(credential, str) else None,
            )
        )
    return result


def rtc_configuration(servers: Any) -> RTCConfiguration:
    """An RTCConfiguration with exactly the given servers. An empty list stays empty:
    aiortc would otherwise fall back to Google's public STUN server."""
    return RTCConfiguration(iceServers=ice_servers_from_wire(servers))


def candidate_from_wire(data: Mapping[str, Any]) -> RTCIceCandidate:
    """A browser-style ``{candidate, sdpMid, sdpMLineIndex}`` → aiortc candidate.

    Raises ValueError on anything malformed.
    """
    text = data.get("candidate")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("candidate.candidate must be a non-empty string")
    text = text.strip()
    if text.startswith("a="):
        text = text[2:]
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    try:
        candidate = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as exc:
        raise ValueError(f"candidate.candidate is not a valid ICE candidate: {exc!r}") from None
    mid = data.get("sdpMid")
    index = data.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise ValueError("candidate.sdpMid must be a string or null")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise ValueError("candidate.sdpMLineIndex must be a non-negative integer or null")
    if mid is None and index is None:
        raise ValueError("candidate needs sdpMid or sdpMLineIndex")
    candidate.sdpMid = mid
    candidate.sdpMLineIndex = index
    return candidate


def candidate_to_wire(candidate: RTCIceCandidate) -> dict[str, Any]:
    from aiortc.sdp import candidate_to_sdp

    return {
        "candidate": "candidate:" + candidate_to_sdp(candidate),
        "sdpMid": candidate.sdpMid,
        "sdpMLineIndex": candidate.sdpMLineIndex,
    }
