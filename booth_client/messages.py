"""Server → booth messages of the wire contract (``/booth`` namespace), validated.

Each ``parse_*`` turns a raw Socket.IO payload into a frozen dataclass or raises
``InvalidMessage`` naming the field, so the agent never acts on half-understood input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from booth_client.sources import DOCUMENT_KINDS

MAX_ID_LEN = 128
MAX_SDP_LEN = 64 * 1024


class InvalidMessage(ValueError):
    """A server message that does not match the contract."""


def _mapping(data: Any, event: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidMessage(f"{event}: payload must be an object, got {type(data).__name__}")
    return data


def _session_id(data: Mapping[str, Any], event: str) -> str:
    value = data.get("session_id")
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LEN:
        raise InvalidMessage(f"{event}: session_id must be a non-empty string")
    return value


def _optional_str(data: Mapping[str, Any], key: str, event: str, max_len: int = 500) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidMessage(f"{event}: {key} must be a string of at most {max_len} characters")
    return value


@dataclass(frozen=True)
class Queued:
    session_id: str
    position: int | None


@dataclass(frozen=True)
class Assigned:
    session_id: str
    officer_id: str | None
    officer_name: str | None
    ice_servers: list[Any] | None  # None: not sent (keep what the booth already has)
    resumed: bool


@dataclass(frozen=True)
class Description:
    type: str  # "offer" | "answer"
    sdp: str


@dataclass(frozen=True)
class Signal:
    session_id: str
    description: Description | None
    has_candidate: bool
    candidate: Mapping[str, Any] | None  # None with has_candidate = end of candidates


@dataclass(frozen=True)
class Focus:
    session_id: str
    focused: bool


@dataclass(frozen=True)
class DocumentRequested:
    session_id: str
    kind: str


@dataclass(frozen=True)
class DocumentReviewed:
    session_id: str
    document_id: str
    status: str
    reason: str | None


@dataclass(frozen=True)
class SessionEnded:
    session_id: str
    reason: str | None


def parse_queued(data: Any) -> Queued:
    d = _mapping(data, "queued")
    position = d.get("position")
    if position is not None and (
        not isinstance(position, int) or isinstance(position, bool) or position < 0
    ):
        raise InvalidMessage("queued: position must be a non-negative integer")
    return Queued(_session_id(d, "queued"), position)


def parse_assigned(data: Any) -> Assigned:
    d = _mapping(data, "assigned")
    officer = d.get("officer")
    officer_id = officer_name = None
    if officer is not None:
        if not isinstance(officer, Mapping):
            raise InvalidMessage("assigned: officer must be an object")
        officer_id = _optional_str(officer, "id", "assigned.officer", MAX_ID_LEN)
        officer_name = _optional_str(officer, "name", "assigned.officer", 200)
    ice_servers = d.get("ice_servers")
    if ice_servers is not None and not isinstance(ice_servers, list):
        raise InvalidMessage("assigned: ice_servers must be a list")
    resumed = d.get("resumed") is True
    return Assigned(_session_id(d, "assigned"), officer_id, officer_name, ice_servers, resumed)


def parse_signal(data: Any) -> Signal:
    d = _mapping(data, "signal")
    session_id = _session_id(d, "signal")
    description = None
    raw = d.get("description")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise InvalidMessage("signal: description must be an object")
        kind, sdp = raw.get("type"), raw.get("sdp")
        if kind not in ("offer", "answer"):
            raise InvalidMessage("signal: description.type must be 'offer' or 'answer'")
        if not isinstance(sdp, str) or not sdp.strip() or len(sdp) > MAX_SDP_LEN:
            raise InvalidMessage("signal: description.sdp must be a non-empty string")
        if not sdp.lstrip().startswith("v=0"):
            raise InvalidMessage("signal: description.sdp is not an SDP document")
        description = Description(kind, sdp)
    has_candidate = "candidate" in d
    candidate = d.get("candidate")
    if candidate is not None and not isinstance(candidate, Mapping):
        raise InvalidMessage("signal: candidate must be an object or null")
    if description is None and not has_candidate:
        raise InvalidMessage("signal: needs description or candidate")
    return Signal(session_id, description, has_candidate, candidate)


def parse_focus(data: Any) -> Focus:
    d = _mapping(data, "focus")
    focused = d.get("focused")
    if not isinstance(focused, bool):
        raise InvalidMessage("focus: focused must be a boolean")
    return Focus(_session_id(d, "focus"), focused)


def parse_document_requested(data: Any) -> DocumentRequested:
    d = _mapping(data, "document_requested")
    kind = d.get("kind")
    if kind not in DOCUMENT_KINDS:
        raise InvalidMessage(f"document_requested: kind must be one of {sorted(DOCUMENT_KINDS)}")
    return DocumentRequested(_session_id(d, "document_requested"), str(kind))


def parse_document_reviewed(data: Any) -> DocumentReviewed:
    d = _mapping(data, "document_reviewed")
    status = d.get("status")
    if status not in ("approved", "rejected"):
        raise InvalidMessage("document_reviewed: status must be 'approved' or 'rejected'")
    document_id = d.get("document_id")
    if not isinstance(document_id, str) or not document_id or len(document_id) > MAX_ID_LEN:
        raise InvalidMessage("document_reviewed: document_id must be a non-empty string")
    return DocumentReviewed(
        _session_id(d, "document_reviewed"),
        document_id,
        str(status),
        _optional_str(d, "reason", "document_reviewed"),
    )


def parse_session_ended(data: Any) -> SessionEnded:
    d = _mapping(data, "session_ended")
    return SessionEnded(
        _session_id(d, "session_ended"), _optional_str(d, "reason", "session_ended")
    )


@dataclass(frozen=True)
class ReadyAck:
    session_id: str
    position: int | None


@dataclass(frozen=True)
class ErrorAck:
    code: str
    message: str


def parse_ack(data: Any, event: str) -> Mapping[str, Any] | ErrorAck:
    """An acknowledgement: the mapping when ok, ErrorAck when the server refused."""
    d = _mapping(data, f"{event} ack")
    if d.get("ok") is True:
        return d
    error = d.get("error")
    if isinstance(error, Mapping):
        return ErrorAck(str(error.get("code", "unknown")), str(error.get("message", "")))
    raise InvalidMessage(f"{event} ack: neither ok nor an error object")


def parse_ready_ack(data: Any) -> ReadyAck | ErrorAck:
    ack = parse_ack(data, "ready")
    if isinstance(ack, ErrorAck):
        return ack
    position = ack.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise InvalidMessage("ready ack: position must be an integer")
    return ReadyAck(_session_id(ack, "ready ack"), position)
