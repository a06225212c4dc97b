"""Read-only views of a branch's state, in the shapes the wire contract gives them."""

from __future__ import annotations

from typing import Any

from booth_server.core.model import BranchState, Session, booth_display_state


def booth_ref(state: BranchState, booth_id: str) -> dict[str, Any]:
    booth = state.booths[booth_id]
    return {"id": booth.id, "label": booth.label, "branch": state.id}


def session_view(state: BranchState, session: Session) -> dict[str, Any]:
    booth = state.booths[session.booth_id]
    return {
        "session_id": session.id,
        "state": session.state,
        "booth": booth_ref(state, booth.id),
        "ticket": session.ticket,
        "kind": session.kind,
        "started_at": session.started_at,
        "focused": session.focused,
        "booth_connected": booth.connected,
        "documents": [
            {"document_id": doc_id, "kind": rec.kind, "status": rec.status, "reason": rec.reason}
            for doc_id, rec in session.documents.items()
        ],
        "requested_document": session.requested_document,
    }


def officer_state(state: BranchState, officer_id: str, now: float) -> dict[str, Any]:
    """The `state` event: everything a (re)loaded console needs to restore itself."""
    officer = state.officers[officer_id]
    offers = []
    for session_id in officer.offers:
        session = state.sessions[session_id]
        expires = session.offer_expires_at or now
        offers.append(
            {
                "session_id": session.id,
                "booth": booth_ref(state, session.booth_id),
                "ticket": session.ticket,
                "kind": session.kind,
                "expires_in_s": max(0.0, round(expires - now, 1)),
            }
        )
    return {
        "officer": {
            "id": officer.id,
            "name": officer.name,
            "status": officer.display_status,
            "load": officer.load,
            "capacity": officer.capacity,
            "auto_accept": officer.auto_accept,
            "focus": officer.focus,
        },
        "sessions": [session_view(state, state.sessions[s]) for s in officer.sessions],
        "offers": offers,
    }


def branch_occupancy(state: BranchState, now: float) -> dict[str, Any]:
    """One branch of `GET /api/occupancy`."""
    booths = []
    for booth in sorted(state.booths.values(), key=lambda b: b.id):
        entry: dict[str, Any] = {
            "id": booth.id,
            "label": booth.label,
            "state": booth_display_state(state, booth),
            "since": booth.since,
            "healthy": booth.healthy,
            "connected": booth.connected,
        }
        if booth.session_id:
            entry["session_id"] = booth.session_id
        if booth.out_of_service_reason:
            entry["out_of_service_reason"] = booth.out_of_service_reason
        booths.append(entry)
    officers = [
        {
            "id": o.id,
            "name": o.name,
            "status": o.display_status,
            "load": o.load,
            "capacity": o.capacity,
            "sessions": len(o.sessions),
            "offers": len(o.offers),
            "focus": o.focus,
            "since": o.since,
        }
        for o in sorted(state.officers.values(), key=lambda o: o.id)
    ]
    queue = state.queue()
    oldest = min((s.created_at for s in queue), default=None)
    return {
        "id": state.id,
        "name": state.name,
        "booths": booths,
        "officers": officers,
        "queue": {
            "length": len(queue),
            "oldest_wait_s": round(now - oldest, 1) if oldest is not None else 0.0,
            "entries": [
                {
                    "session_id": s.id,
                    "booth_id": s.booth_id,
                    "ticket": s.ticket,
                    "priority": s.priority,
                    "wait_s": round(now - s.created_at, 1),
                }
                for s in queue
            ],
        },
    }
