"""What can happen to a branch: the inputs of the dispatcher.

The transports turn validated client events, connections and timer ticks into these; the
simulator makes them from its own clock. Identifiers that need randomness (a new session id)
are chosen by the caller, so the core stays deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class BoothConnected:
    booth_id: str
    conn: str | None = None  # the connection's id; a stale connection's disconnect is ignored


@dataclass(frozen=True)
class BoothDisconnected:
    booth_id: str
    conn: str | None = None  # the connection's id; a stale connection's disconnect is ignored


@dataclass(frozen=True)
class BoothReady:
    booth_id: str
    session_id: str
    ticket: str | None = None
    kind: Literal["individual", "collective"] = "individual"
    priority: int = 0


@dataclass(frozen=True)
class BoothCancel:
    booth_id: str
    session_id: str
    reason: str | None = None


@dataclass(frozen=True)
class BoothHealth:
    booth_id: str
    camera_ok: bool
    document_camera: Literal["ok", "fault", "absent"] | None = None


@dataclass(frozen=True)
class OfficerConnected:
    officer_id: str
    conn: str | None = None


@dataclass(frozen=True)
class OfficerDisconnected:
    officer_id: str
    conn: str | None = None


@dataclass(frozen=True)
class SetStatus:
    officer_id: str
    status: Literal["available", "paused"]
    actor: str | None = None  # ops pausing an officer; None = the officer


@dataclass(frozen=True)
class Accept:
    officer_id: str
    session_id: str


@dataclass(frozen=True)
class Decline:
    officer_id: str
    session_id: str
    reason: str | None = None


@dataclass(frozen=True)
class Focus:
    officer_id: str
    session_id: str | None


@dataclass(frozen=True)
class RequestDocument:
    officer_id: str
    session_id: str
    kind: str


@dataclass(frozen=True)
class DocumentUploaded:
    booth_id: str
    session_id: str
    document_id: str
    kind: str
    quality: dict[str, float | bool | str | None]


@dataclass(frozen=True)
class ReviewDocument:
    officer_id: str
    document_id: str
    status: Literal["approved", "rejected"]
    reason: str | None = None


@dataclass(frozen=True)
class Complete:
    officer_id: str
    session_id: str
    outcome: str
    note: str | None = None


@dataclass(frozen=True)
class Transfer:
    officer_id: str
    session_id: str
    target_officer_id: str | None = None


@dataclass(frozen=True)
class SetOutOfService:
    booth_id: str
    out_of_service: bool
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class Tick:
    """Time passed: expire offers and grace periods that are due."""


Event = (
    BoothConnected
    | BoothDisconnected
    | BoothReady
    | BoothCancel
    | BoothHealth
    | OfficerConnected
    | OfficerDisconnected
    | SetStatus
    | Accept
    | Decline
    | Focus
    | RequestDocument
    | DocumentUploaded
    | ReviewDocument
    | Complete
    | Transfer
    | SetOutOfService
    | Tick
)
