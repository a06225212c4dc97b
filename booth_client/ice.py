"""ICE configuration for the kiosk: ``--ice-host`` and the server's ``ice_servers``.

aiortc gathers host candidates through aioice, which asks ``aioice.ice.get_host_addresses``
for every address of every interface (and always leaves out 127.0.0.1 and ::1). aioice has
no option to choose addresses, so ``restrict_host_candidates(ADDR)`` replaces that function
with one that answers only ``ADDR``. aioice looks the function up at gathering time, so this
works for every peer connection created afterwards, in this process. That is the point: a
kiosk with several networks (LAN, LTE modem, VPN) offers only the LAN address, and tests
gather on loopback only. Server-reflexive and relay candidates still come from the STUN/TURN
servers in the RTCConfiguration; tests pass ``iceServers=[]`` so nothing leaves the machine.

The restriction also covers the other end, as browsers do (nICEr pairs a loopback candidate
only with a loopback one): with a loopback ``ADDR`` the kiosk takes only loopback remote
candidates, and with any other ``ADDR`` none on loopback. A browser offers its own interface
addresses too (Firefox and Chromium both do, beside 127.0.0.1), and without this the kiosk
would send its checks to them. Remote candidates of the wrong kind are dropped when they are
signalled (``aioice.ice.validate_remote_candidate``) and STUN requests from such an address
get no answer and teach no peer-reflexive candidate (``Connection.request_received``), so a
kiosk on 127.0.0.1 sends nothing to any address outside loopback.
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
_ORIGINAL_VALIDATE_REMOTE_CANDIDATE = aioice.ice.validate_remote_candidate
_ORIGINAL_REQUEST_RECEIVED = aioice.ice.Connection.request_received
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
        aioice.ice.validate_remote_candidate = _ORIGINAL_VALIDATE_REMOTE_CANDIDATE
        aioice.ice.Connection.request_received = _ORIGINAL_REQUEST_RECEIVED  # type: ignore[method-assign]
        _current_host = None
        return
    host = validate_ice_host(address)
    version = ipaddress.ip_address(host).version

    def only_host(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
            return [host]
        return []

    aioice.ice.get_host_addresses = only_host
    aioice.ice.validate_remote_candidate = _validate_remote_candidate
    aioice.ice.Connection.request_received = _request_received  # type: ignore[method-assign]
    _current_host = host
    log.info(
        "ICE host candidates restricted to %s; remote candidates %s loopback only",
        host,
        "on" if ipaddress.ip_address(host).is_loopback else "off",
    )


def remote_address_allowed(address: str) -> bool:
    """Whether the kiosk may pair with (and answer) a remote ``address`` under the current
    ``--ice-host``: a loopback host only with loopback addresses, any other host only with
    addresses off loopback. Without ``--ice-host`` every address is allowed. A name that is
    not an IP address (an unresolved mDNS candidate) is allowed; aioice resolves it first and
    checks the address it resolves to."""
    if _current_host is None:
        return True
    try:
        remote = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    return remote.is_loopback == ipaddress.ip_address(_current_host).is_loopback


def _validate_remote_candidate(candidate: Any, host: str) -> str:
    address: str = _ORIGINAL_VALIDATE_REMOTE_CANDIDATE(candidate, host)
    if not remote_address_allowed(address):
        log.debug("ignoring remote candidate %s: --ice-host is %s", address, _current_host)
        raise ValueError(f"{address} is out of reach of --ice-host {_current_host}")
    return address


def _request_received(
    self: aioice.ice.Connection, message: Any, addr: tuple[str, int], protocol: Any
) -> None:
    if not remote_address_allowed(addr[0]):
        log.debug("ignoring a STUN request from %s: --ice-host is %s", addr[0], _current_host)
        return
    _ORIGINAL_REQUEST_RECEIVED(self, message, addr, protocol)


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
