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


class OccupancyBroadcaster:
    """Sends occupancy to ops rooms on every change, at most once per `interval_s`."""

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
        self._last = time.monotonic()
        try:
            body = await occupancy(self.service)
        except ApiError:
            return
        await self.sio.emit("occupancy", body, room=ops_room(None), namespace="/ops")
        for branch in body["branches"]:
            if branch["id"] in dirty:
                await self.sio.emit(
                    "occupancy",
                    {"generated_at": body["generated_at"], "branches": [branch]},
                    room=ops_room(branch["id"]),
                    namespace="/ops",
                )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
