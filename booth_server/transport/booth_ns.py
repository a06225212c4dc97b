"""Socket.IO namespace `/booth`: the kiosks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from booth_server.config import AppConfig
from booth_server.core import events as ev
from booth_server.errors import ApiError, ErrorCode
from booth_server.payloads import (
    BoothAuth,
    CancelPayload,
    HealthPayload,
    ReadyPayload,
    SignalPayload,
    parse,
)
from booth_server.security import SecretVerifier
from booth_server.service import BoothService, ack
from booth_server.transport.guard import GuardedNamespace, Party, refuse
from booth_server.transport.relay import Relay


class BoothNamespace(GuardedNamespace):
    role = "booth"

    def __init__(
        self,
        cfg: AppConfig,
        service: BoothService,
        relay: Relay,
        verifier: SecretVerifier,
        dummy_hash: str,
    ) -> None:
        super().__init__("/booth", cfg, service)
        self.relay = relay
        self.verifier = verifier
        self.dummy_hash = dummy_hash
        self.handlers = {
            "ready": self._ready,
            "signal": self._signal,
            "cancel": self._cancel,
            "health": self._health,
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            creds = parse(BoothAuth, auth)
        except ApiError:
            raise refuse(ErrorCode.UNAUTHORIZED, "auth: expected {booth_id, token}") from None
        booth = self.cfg.booth(creds.booth_id)
        # Verify against a dummy hash for unknown booths too, so timing does not reveal ids.
        ok = await asyncio.to_thread(
            self.verifier.verify, booth.token_hash if booth else self.dummy_hash, creds.token
        )
        if booth is None or not ok:
            raise refuse(ErrorCode.UNAUTHORIZED, "auth: unknown booth or wrong token")
        party = Party(sid, "booth", booth.id, booth.branch)
        self.parties[sid] = party
        await self.enter_room(sid, f"booth:{booth.id}")
        self.service.metrics.connected.labels("booth").inc()
        try:
            # Present before connected, so no sweeper in another process can see the new
            # connection without its heartbeat.
            await self.service.touch_presence("booth", booth.id)
            await self.service.apply(booth.branch, ev.BoothConnected(booth.id, conn=sid))
        except ApiError as exc:
            self.forget(sid)
            self.service.metrics.connected.labels("booth").dec()
            raise refuse(exc.code, exc.message) from None

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        party = self.forget(sid)
        if party is None or party.branch is None:
            return
        self.service.metrics.connected.labels("booth").dec()
        # When the store is down the presence sweeper catches up later.
        with contextlib.suppress(ApiError):
            await self.service.apply(party.branch, ev.BoothDisconnected(party.id, conn=sid))

    async def _ready(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(ReadyPayload, data)
        assert party.branch is not None
        event = ev.BoothReady(
            party.id, session_id=f"s-{uuid.uuid4().hex[:16]}", ticket=p.ticket, kind=p.kind,
            priority=p.priority,
        )
        result = await self.service.apply(party.branch, event)
        return ack(result)

    async def _signal(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(SignalPayload, data)
        return await self.relay.from_booth(party, p)

    async def _cancel(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(CancelPayload, data)
        assert party.branch is not None
        result = await self.service.apply(
            party.branch, ev.BoothCancel(party.id, p.session_id, p.reason)
        )
        return ack(result)

    async def _health(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(HealthPayload, data)
        assert party.branch is not None
        result = await self.service.apply(
            party.branch, ev.BoothHealth(party.id, p.camera == "ok", p.document_camera)
        )
        return ack(result)
