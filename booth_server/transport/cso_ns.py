"""Socket.IO namespace `/cso`: the officers' consoles."""

from __future__ import annotations

import contextlib
from typing import Any

from booth_server.config import AppConfig
from booth_server.core import events as ev
from booth_server.core.views import officer_state
from booth_server.errors import ApiError, ErrorCode
from booth_server.payloads import (
    CompletePayload,
    DeclinePayload,
    EmptyPayload,
    FocusPayload,
    RequestDocumentPayload,
    ReviewDocumentPayload,
    SessionPayload,
    SetStatusPayload,
    SignalPayload,
    TransferPayload,
    parse,
)
from booth_server.service import BoothService, ack
from booth_server.transport.guard import GuardedNamespace, Party, refuse
from booth_server.transport.relay import Relay
from booth_server.turn import ice_servers_for


class CsoNamespace(GuardedNamespace):
    role = "officer"

    def __init__(self, cfg: AppConfig, service: BoothService, relay: Relay) -> None:
        super().__init__("/cso", cfg, service)
        self.relay = relay
        self.handlers = {
            "set_status": self._set_status,
            "accept": self._accept,
            "decline": self._decline,
            "signal": self._signal,
            "focus": self._focus,
            "request_document": self._request_document,
            "review_document": self._review_document,
            "complete": self._complete,
            "transfer": self._transfer,
            "get_state": self._get_state,
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = self.authenticate_user(auth, "officer")
        if user.branch is None:
            raise refuse(ErrorCode.FORBIDDEN, "branch: this officer has no branch")
        party = Party(sid, "officer", user.id, user.branch)
        self.parties[sid] = party
        await self.enter_room(sid, f"officer:{user.id}")
        self.service.metrics.connected.labels("officer").inc()
        try:
            await self.service.touch_presence("officer", user.id)
            await self.service.apply(user.branch, ev.OfficerConnected(user.id, conn=sid))
            await self.emit("state", await self._state_body(party), to=sid)
        except ApiError as exc:
            self.forget(sid)
            self.service.metrics.connected.labels("officer").dec()
            raise refuse(exc.code, exc.message) from None

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        party = self.forget(sid)
        if party is None or party.branch is None:
            return
        self.service.metrics.connected.labels("officer").dec()
        # When the store is down the presence sweeper catches up later.
        with contextlib.suppress(ApiError):
            await self.service.apply(party.branch, ev.OfficerDisconnected(party.id, conn=sid))

    async def _state_body(self, party: Party) -> dict[str, Any]:
        assert party.branch is not None
        state = await self.service.snapshot(party.branch)
        now = self.service.clock()
        body = officer_state(state, party.id, now)
        body["unfocused_alert_s"] = self.cfg.dispatch.unfocused_alert_s
        for session in body["sessions"]:
            # A reloaded console reconnects its peers through TURN too: fresh credentials.
            session["ice_servers"] = ice_servers_for(self.cfg.ice, f"officer-{party.id}", now)
        return body

    async def _apply(self, party: Party, event: ev.Event) -> dict[str, Any]:
        assert party.branch is not None
        return ack(await self.service.apply(party.branch, event))

    async def _set_status(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(SetStatusPayload, data)
        return await self._apply(party, ev.SetStatus(party.id, p.status))

    async def _accept(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(SessionPayload, data)
        return await self._apply(party, ev.Accept(party.id, p.session_id))

    async def _decline(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(DeclinePayload, data)
        return await self._apply(party, ev.Decline(party.id, p.session_id, p.reason))

    async def _signal(self, party: Party, data: Any) -> dict[str, Any]:
        return await self.relay.from_officer(party, parse(SignalPayload, data))

    async def _focus(self, party: Party, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or "session_id" not in data:
            raise ApiError(ErrorCode.INVALID, "session_id: required (null to unfocus)")
        p = parse(FocusPayload, data)
        return await self._apply(party, ev.Focus(party.id, p.session_id))

    async def _request_document(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(RequestDocumentPayload, data)
        return await self._apply(party, ev.RequestDocument(party.id, p.session_id, p.kind))

    async def _review_document(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(ReviewDocumentPayload, data)
        return await self._apply(
            party, ev.ReviewDocument(party.id, p.document_id, p.status, p.reason)
        )

    async def _complete(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(CompletePayload, data)
        return await self._apply(party, ev.Complete(party.id, p.session_id, p.outcome, p.note))

    async def _transfer(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(TransferPayload, data)
        return await self._apply(party, ev.Transfer(party.id, p.session_id, p.officer_id))

    async def _get_state(self, party: Party, data: Any) -> dict[str, Any]:
        parse(EmptyPayload, data)
        return {"ok": True, **(await self._state_body(party))}
