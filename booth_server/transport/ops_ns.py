"""Socket.IO namespace `/ops`: live occupancy for ops staff, and their floor actions."""

from __future__ import annotations

from typing import Any

from booth_server.config import AppConfig
from booth_server.core import events as ev
from booth_server.errors import ApiError, ErrorCode
from booth_server.payloads import EmptyPayload, OfficerStatusPayload, OutOfServicePayload, parse
from booth_server.service import BoothService, ack
from booth_server.transport.guard import GuardedNamespace, Party, refuse
from booth_server.transport.occupancy import occupancy, ops_room


class OpsNamespace(GuardedNamespace):
    role = "ops"

    def __init__(self, cfg: AppConfig, service: BoothService) -> None:
        super().__init__("/ops", cfg, service)
        self.handlers = {
            "set_out_of_service": self._set_out_of_service,
            "set_officer_status": self._set_officer_status,
            "get_occupancy": self._get_occupancy,
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        user = self.authenticate_user(auth, "ops")
        self.parties[sid] = Party(sid, "ops", user.id, user.branch)
        await self.enter_room(sid, ops_room(user.branch))
        self.service.metrics.connected.labels("ops").inc()
        try:
            body = await occupancy(self.service, self._branches(user.branch))
        except ApiError as exc:
            self.forget(sid)
            raise refuse(exc.code, exc.message) from None
        await self.emit("occupancy", body, to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.forget(sid) is not None:
            self.service.metrics.connected.labels("ops").dec()

    def _branches(self, branch: str | None) -> list[str] | None:
        return None if branch is None else [branch]

    def _check_branch(self, party: Party, branch_id: str) -> None:
        if party.branch is not None and party.branch != branch_id:
            raise ApiError(ErrorCode.FORBIDDEN, "branch: not one of your branches")

    async def _set_out_of_service(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(OutOfServicePayload, data)
        branch_id = self.service.branch_of_booth(p.booth_id)
        self._check_branch(party, branch_id)
        result = await self.service.apply(
            branch_id,
            ev.SetOutOfService(p.booth_id, p.out_of_service, actor=party.id, reason=p.reason),
        )
        return ack(result)

    async def _set_officer_status(self, party: Party, data: Any) -> dict[str, Any]:
        p = parse(OfficerStatusPayload, data)
        branch_id = self.service.branch_of_officer(p.officer_id)
        self._check_branch(party, branch_id)
        result = await self.service.apply(
            branch_id, ev.SetStatus(p.officer_id, p.status, actor=party.id)
        )
        return ack(result)

    async def _get_occupancy(self, party: Party, data: Any) -> dict[str, Any]:
        parse(EmptyPayload, data)
        return {"ok": True, **(await occupancy(self.service, self._branches(party.branch)))}
