"""Presence across processes: heartbeats for this process's clients, and a sweeper.

A server process that dies (SIGKILL, power) says goodbye for none of its clients. Each process
refreshes a heartbeat key (with a TTL) for every booth and officer connected to it; the sweeper,
which any process may run at any time, finds parties the branch state thinks connected whose
heartbeat has lapsed and disconnects them there, so their grace periods start. The disconnect
names the connection it saw, so a party that has meanwhile reconnected elsewhere is untouched.
With the in-memory store every party is present by definition and the sweep finds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from booth_server.core import events as ev
from booth_server.errors import ApiError
from booth_server.service import BoothService
from booth_server.store.base import StoreUnavailable
from booth_server.transport.guard import GuardedNamespace

log = logging.getLogger("lapak.presence")

HEARTBEAT_S = 2.0
TTL_S = 7.0


class PresenceKeeper:
    def __init__(self, service: BoothService, namespaces: dict[str, GuardedNamespace]) -> None:
        self.service = service
        self.namespaces = namespaces

    async def beat(self) -> None:
        for role, namespace in self.namespaces.items():
            ids = {party.id for party in namespace.parties.values()}
            if ids:
                await self.service.store.touch_presence(role, ids, TTL_S)

    async def sweep(self) -> int:
        """Disconnect parties without a heartbeat; returns how many."""
        swept = 0
        for branch_id in self.service.branch_ids:
            state = await self.service.snapshot(branch_id)
            booths = {b.id: b.conn for b in state.booths.values() if b.connected}
            officers = {o.id: o.conn for o in state.officers.values() if o.connected}
            alive_booths = await self.service.store.present("booth", booths)
            alive_officers = await self.service.store.present("officer", officers)
            for booth_id, conn in booths.items():
                if booth_id not in alive_booths:
                    await self.service.apply(branch_id, ev.BoothDisconnected(booth_id, conn=conn))
                    swept += 1
            for officer_id, conn in officers.items():
                if officer_id not in alive_officers:
                    await self.service.apply(branch_id,
                                             ev.OfficerDisconnected(officer_id, conn=conn))
                    swept += 1
            swept += await self._reassert(branch_id)
        if swept:
            log.info("presence sweep", extra={"changed": swept})
        return swept

    async def _reassert(self, branch_id: str) -> int:
        """Clients on this process that the state thinks offline are connected again.

        That happens when the store lost its data (Redis restarted empty) and the branch was
        rebuilt from the configuration: the sockets are still here, so say so."""
        state = await self.service.snapshot(branch_id)
        booths = {b.id for b in state.booths.values() if b.connected}
        officers = {o.id for o in state.officers.values() if o.connected}
        changed = 0
        for party in list(self.namespaces["booth"].parties.values()):
            if party.branch == branch_id and party.id not in booths:
                await self.service.apply(branch_id, ev.BoothConnected(party.id, conn=party.sid))
                changed += 1
        for party in list(self.namespaces["officer"].parties.values()):
            if party.branch == branch_id and party.id not in officers:
                await self.service.apply(branch_id,
                                         ev.OfficerConnected(party.id, conn=party.sid))
                changed += 1
        return changed

    async def run(self) -> None:
        if self.service.store.kind == "memory":
            return
        # Sweep only after this process has had time to beat for its own clients.
        await asyncio.sleep(TTL_S)
        while True:
            with contextlib.suppress(StoreUnavailable, ApiError):
                await self.beat()
                await self.sweep()
            await asyncio.sleep(HEARTBEAT_S)
