"""WebRTC signaling relay: SDP and ICE candidates go to the other party of a session, only.

The check reads the branch state (no transaction: relaying changes nothing) and refuses a
signal from anyone who is not a party of a live session, so no booth or officer can inject
into, or learn about, somebody else's session.
"""

from __future__ import annotations

from typing import Any

import socketio

from booth_server.config import AppConfig
from booth_server.errors import ApiError, ErrorCode
from booth_server.payloads import SignalPayload
from booth_server.service import BoothService
from booth_server.transport.guard import Party


class Relay:
    def __init__(self, cfg: AppConfig, service: BoothService, sio: socketio.AsyncServer) -> None:
        self.cfg = cfg
        self.service = service
        self.sio = sio

    def _check_size(self, p: SignalPayload) -> None:
        if p.description is None and "candidate" not in p.model_fields_set:
            raise ApiError(ErrorCode.INVALID, "description or candidate: one is required")
        if p.description is not None and p.candidate is not None:
            raise ApiError(ErrorCode.INVALID, "description, candidate: send one per signal")
        if p.description is not None and len(p.description.sdp.encode()) > (
            self.cfg.limits.max_sdp_bytes
        ):
            raise ApiError(
                ErrorCode.TOO_LARGE,
                f"description.sdp: larger than {self.cfg.limits.max_sdp_bytes} bytes",
            )

    @staticmethod
    def _body(p: SignalPayload) -> dict[str, Any]:
        body: dict[str, Any] = {"session_id": p.session_id}
        if p.description is not None:
            body["description"] = p.description.model_dump()
        else:
            body["candidate"] = (
                None if p.candidate is None else p.candidate.model_dump(exclude_none=True)
            )
        return body

    async def from_booth(self, party: Party, p: SignalPayload) -> dict[str, Any]:
        self._check_size(p)
        assert party.branch is not None
        session = await self.service.session_route(party.branch, p.session_id)
        if session is None or session.booth_id != party.id:
            raise ApiError(ErrorCode.NOT_FOUND, "session_id: no session of this booth")
        if session.state != "active" or session.officer_id is None:
            raise ApiError(ErrorCode.CONFLICT, "session_id: no officer has joined this session")
        await self.sio.emit("signal", self._body(p), room=f"officer:{session.officer_id}",
                            namespace="/cso")
        self.service.metrics.relayed.labels("booth_to_officer").inc()
        return {"ok": True}

    async def from_officer(self, party: Party, p: SignalPayload) -> dict[str, Any]:
        self._check_size(p)
        assert party.branch is not None
        session = await self.service.session_route(party.branch, p.session_id)
        if session is None or session.officer_id != party.id or session.state != "active":
            raise ApiError(ErrorCode.NOT_FOUND, "session_id: no live session of this officer")
        await self.sio.emit("signal", self._body(p), room=f"booth:{session.booth_id}",
                            namespace="/booth")
        self.service.metrics.relayed.labels("officer_to_booth").inc()
        return {"ok": True}
