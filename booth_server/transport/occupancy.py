"""The occupancy body (`GET /api/occupancy`, the `/ops` event) and its throttled broadcast."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import socketio

from booth_server.core.views import branch_occupancy
from booth_server.errors import ApiError
from booth_server.service import BoothService

log = logging.getLogger("lapak.occupancy")


async def occupancy(service: BoothService, branch_ids: list[str] | None = None) -> dict[str, Any]:
    now = service.clock()
    branches = []
    for branch_id in branch_ids if branch_ids is not None else service.branch_ids:
        state = await service.snapshot(branch_id)
        branches.append(branch_occupancy(state, now))
    body = {"generated_at": now, "branches": branches}
    if branch_ids is None:
        service.metrics.update_occupancy(body)
    return body


def ops_room(branch_id: str | None) -> str:
    return "ops:all" if branch_id is None else f"ops:{branch_id}"


def local_ops_rooms(sio: socketio.AsyncServer) -> dict[str, frozenset[str]]:
    """The ops rooms with members connected to this process, by name."""
    rooms = sio.manager.rooms.get("/ops", {})
    return {
        str(name): frozenset(members)
        for name, members in rooms.items()
        if isinstance(name, str) and name.startswith("ops:") and members
    }


class OccupancyBroadcaster:
    """Sends occupancy to this process's ops clients on every change, at most once per
    `interval_s`.

    Every process serves its own ops clients (`ignore_queue`: nothing crosses Redis) and learns
    of other processes' changes from the service's once-a-second poll. A process without ops
    clients reads and sends nothing."""

    def __init__(
        self, service: BoothService, sio: socketio.AsyncServer, interval_s: float = 1.0
    ) -> None:
        self.service = service
        self.sio = sio
        self.interval_s = interval_s
        self._dirty: set[str] = set()
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        service.on_change(self.mark)

    def mark(self, branch_id: str) -> None:
        self._dirty.add(branch_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send_soon())

    async def _send_soon(self) -> None:
        delay = self._last + self.interval_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        dirty, self._dirty = self._dirty, set()
        rooms = local_ops_rooms(self.sio)
        everything = ops_room(None) in rooms
        wanted = [b for b in self.service.branch_ids if b in dirty and ops_room(b) in rooms]
        if not everything and not wanted:
            return
        self._last = time.monotonic()
        try:
            body = await occupancy(self.service, None if everything else wanted)
        except ApiError:
            return
        if everything:
            await self.sio.emit("occupancy", body, room=ops_room(None), namespace="/ops",
                                ignore_queue=True)
        for branch in body["branches"]:
            if branch["id"] in wanted:
                await self.sio.emit(
                    "occupancy",
                    {"generated_at": body["generated_at"], "branches": [branch]},
                    room=ops_room(branch["id"]),
                    namespace="/ops",
                    ignore_queue=True,
                )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
