"""The state of one branch: booths, officers and the live sessions between them.

Plain dataclasses, so the in-memory store keeps them as they are and the Redis store turns
them into JSON and back (`to_dict` / `from_dict`). Derived facts (a booth's displayed state, an
officer's load) are computed, never stored, so they cannot drift from the facts they describe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

BoothDisplayState = Literal["offline", "idle", "queued", "offered", "in_session", "out_of_service"]
OfficerDisplayStatus = Literal["offline", "available", "paused", "not_responding"]
OfficerMode = Literal["available", "paused", "not_responding"]
SessionState = Literal["queued", "offered", "active"]
SessionKind = Literal["individual", "collective"]

DOCUMENT_KINDS: tuple[str, ...] = ("ktp", "kpj", "kk", "paklaring", "bank_book", "npwp", "other")
OUTCOMES: tuple[str, ...] = ("claim_submitted", "incomplete_documents", "referred", "other")


@dataclass
class Booth:
    id: str
    label: str
    connected: bool = False
    healthy: bool = True
    out_of_service: bool = False
    out_of_service_reason: str | None = None
    session_id: str | None = None
    since: float = 0.0
    lost_at: float | None = None
    last_display: str = "offline"
    conn: str | None = None


@dataclass
class Officer:
    id: str
    name: str
    capacity: int = 5
    auto_accept: bool = False
    connected: bool = False
    mode: OfficerMode = "available"
    lost_at: float | None = None
    conn: str | None = None
    sessions: list[str] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    last_assigned_at: float = 0.0
    focus: str | None = None
    since: float = 0.0

    @property
    def load(self) -> int:
        """Live sessions plus pending offers: what counts against capacity."""
        return len(self.sessions) + len(self.offers)

    @property
    def free(self) -> int:
        return self.capacity - self.load

    @property
    def display_status(self) -> OfficerDisplayStatus:
        return self.mode if self.connected else "offline"


@dataclass
class DocumentRecord:
    kind: str
    status: Literal["pending", "approved", "rejected"] = "pending"
    reason: str | None = None


@dataclass
class Session:
    id: str
    booth_id: str
    seq: int
    created_at: float
    ticket: str | None = None
    kind: SessionKind = "individual"
    priority: int = 0
    front: bool = False
    state: SessionState = "queued"
    officer_id: str | None = None
    offer_expires_at: float | None = None
    offered_at: float | None = None
    started_at: float | None = None
    first_started_at: float | None = None
    # Officers that declined this session recently: not offered again before the time given.
    declined_until: dict[str, float] = field(default_factory=dict)
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    requested_document: str | None = None
    last_focus_at: float | None = None
    focused: bool = False
    sent_position: int | None = None
    transfers: int = 0

    def queue_key(self) -> tuple[int, int, int]:
        """Requeued-at-front first, then higher priority, then first come."""
        return (0 if self.front else 1, -self.priority, self.seq)


@dataclass
class BranchState:
    id: str
    name: str
    booths: dict[str, Booth] = field(default_factory=dict)
    officers: dict[str, Officer] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    next_seq: int = 1
    # Running mean of handling time, for the estimated wait told to queued booths.
    mean_handle_s: float = 600.0
    completed: int = 0
    version: int = 0

    def queue(self) -> list[Session]:
        """Sessions waiting for an officer, in dispatch order."""
        waiting = [s for s in self.sessions.values() if s.state == "queued"]
        waiting.sort(key=Session.queue_key)
        return waiting

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchState:
        booths = {k: Booth(**_known(Booth, v)) for k, v in data.get("booths", {}).items()}
        officers = {k: Officer(**_known(Officer, v)) for k, v in data.get("officers", {}).items()}
        sessions: dict[str, Session] = {}
        for key, raw in data.get("sessions", {}).items():
            docs = {d: DocumentRecord(**rec) for d, rec in raw.get("documents", {}).items()}
            sessions[key] = Session(**{**_known(Session, raw), "documents": docs})
        return cls(
            id=data["id"],
            name=data["name"],
            booths=booths,
            officers=officers,
            sessions=sessions,
            next_seq=data.get("next_seq", 1),
            mean_handle_s=data.get("mean_handle_s", 600.0),
            completed=data.get("completed", 0),
            version=data.get("version", 0),
        )


_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}


def _field_names(cls: type[Any]) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The fields `cls` has: state saved by an older or newer version still loads."""
    names = _field_names(cls)
    if names.issuperset(data):
        return data  # the usual case: saved by this version
    return {k: v for k, v in data.items() if k in names}


def booth_display_state(state: BranchState, booth: Booth) -> BoothDisplayState:
    if booth.out_of_service:
        return "out_of_service"
    session = state.sessions.get(booth.session_id) if booth.session_id else None
    if session is not None:
        if session.state == "active":
            return "in_session"
        if session.state == "offered":
            return "offered"
        return "queued"
    if not booth.connected:
        return "offline"
    return "idle"


@dataclass(frozen=True)
class AuditEntry:
    at: float
    branch: str
    actor: str
    event: str
    session_id: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None = None
    booth_id: str | None = None
    officer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Visit:
    """One finished session, for today's figures and the CSV export."""

    session_id: str
    branch: str
    booth_id: str
    officer_id: str | None
    ticket: str | None
    kind: str
    created_at: float
    started_at: float | None
    ended_at: float
    outcome: str | None
    reason: str
    note: str | None = None

    @property
    def wait_s(self) -> float | None:
        return None if self.started_at is None else self.started_at - self.created_at

    @property
    def handle_s(self) -> float | None:
        return None if self.started_at is None else self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_branch(
    branch_id: str,
    name: str,
    booths: list[tuple[str, str]],
    officers: list[tuple[str, str, int, bool]],
) -> BranchState:
    """A branch with nobody connected: booths as (id, label), officers as
    (id, name, capacity, auto_accept)."""
    return BranchState(
        id=branch_id,
        name=name,
        booths={b_id: Booth(id=b_id, label=label) for b_id, label in booths},
        officers={
            o_id: Officer(id=o_id, name=o_name, capacity=capacity, auto_accept=auto)
            for o_id, o_name, capacity, auto in officers
        },
    )
