"""`GET /api/stats` (today's figures, series and alerts for ops) and the `/ops` `alerts` push.

The figures are computed by the pure functions of `booth_server.stats` from what the store
holds (audit log, visits, current state), so any process of a region answers the same.
Every process pushes `alerts` only to the ops sockets connected to it (`ignore_queue`): each
process reads the shared store, so together they reach every ops client exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import math
from typing import Any

import socketio
from aiohttp import web

from booth_server import stats
from booth_server.config import AppConfig, UserConfig
from booth_server.errors import ApiError, ErrorCode
from booth_server.security import verify_token
from booth_server.service import BoothService
from booth_server.store.base import StoreUnavailable
from booth_server.transport.occupancy import local_ops_rooms, occupancy

log = logging.getLogger("lapak.stats")

MAX_WINDOW_S = 31 * 86400.0
MIN_STEP_S = 10.0
MAX_STEP_S = 3600.0


def stats_routes(
    app: web.Application, cfg: AppConfig, service: BoothService, sio: socketio.AsyncServer
) -> list[web.RouteDef]:
    """The stats route, plus the alerts pusher started and stopped with `app`."""
    api = StatsApi(cfg, service)
    pusher = AlertPusher(cfg, service, sio, api)
    app.on_startup.append(pusher.start)
    # Before the service's own cleanup (appended earlier, run in order): stop reading first.
    app.on_cleanup.insert(0, pusher.stop)
    return [web.get("/api/stats", api.get_stats)]


class StatsApi:
    def __init__(self, cfg: AppConfig, service: BoothService) -> None:
        self.cfg = cfg
        self.service = service

    def _ops_user(self, request: web.Request) -> UserConfig:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError(ErrorCode.UNAUTHORIZED, "Authorization: expected 'Bearer TOKEN'")
        claims = verify_token(
            self.cfg.server.secret.get_secret_value(), header[7:].strip(), self.service.clock()
        )
        user = self.cfg.user(claims.subject) if claims else None
        if claims is None or user is None:
            raise ApiError(ErrorCode.UNAUTHORIZED, "Authorization: invalid or expired token")
        if user.role != "ops":
            raise ApiError(ErrorCode.FORBIDDEN, "role: needs ops")
        return user

    def _branches(self, user: UserConfig, raw: str | None) -> tuple[str, list[str]]:
        """("all" or the branch id, the branches it covers) for this user."""
        mine = self.service.branch_ids if user.branch is None else [user.branch]
        if raw is None or raw == "all":
            return ("all" if user.branch is None else user.branch), mine
        if len(raw) > 64 or raw not in self.service.branch_ids:
            raise ApiError(ErrorCode.INVALID, "branch: expected 'all' or a known branch id")
        if raw not in mine:
            raise ApiError(ErrorCode.FORBIDDEN, "branch: not one of your branches")
        return raw, [raw]

    @staticmethod
    def _number(request: web.Request, name: str) -> float | None:
        raw = request.query.get(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise ApiError(ErrorCode.INVALID, f"{name}: expected a number") from None
        if not math.isfinite(value):
            raise ApiError(ErrorCode.INVALID, f"{name}: expected a finite number")
        return value

    async def get_stats(self, request: web.Request) -> web.Response:
        user = self._ops_user(request)
        unknown = set(request.query) - {"branch", "since", "step"}
        if unknown:
            raise ApiError(ErrorCode.INVALID, f"{sorted(unknown)[0]}: unknown parameter")
        selection, branch_ids = self._branches(user, request.query.get("branch"))
        now = self.service.clock()
        since = self._number(request, "since")
        if since is None:
            since = stats.local_midnight(now)
        elif since > now or since < now - MAX_WINDOW_S:
            raise ApiError(ErrorCode.INVALID,
                           "since: expected epoch seconds within the last 31 days")
        step = self._number(request, "step")
        if step is None:
            step = 60.0
        elif not MIN_STEP_S <= step <= MAX_STEP_S:
            raise ApiError(ErrorCode.INVALID, "step: expected 10..3600 seconds")
        body = await self.compute(selection, branch_ids, since, step)
        return web.json_response(body)

    async def compute(
        self, selection: str, branch_ids: list[str], since: float, step: float
    ) -> dict[str, Any]:
        service = self.service
        try:
            # The state first, then the log: whatever changes in between has an entry. Copied:
            # the store's object is changed in place by later transactions while this awaits.
            states = {b: copy.deepcopy(await service.snapshot(b)) for b in branch_ids}
            entries = {b: await service.store.audit(b, since=since, limit=0) for b in branch_ids}
            visits = {b: await service.store.visits(b, since=since) for b in branch_ids}
            occ = await occupancy(service, branch_ids)
            store_ok = await service.store.healthy()
        except StoreUnavailable:
            service.metrics.store_up.set(0)
            raise ApiError(ErrorCode.UNAVAILABLE, "store unavailable") from None
        now = max(service.clock(), since)
        step = stats.choose_step(since, now, step)
        per_branch = []
        all_times: list[stats.OfficerTime] = []
        all_visits = []
        all_series = []
        for branch_id in branch_ids:
            state = states[branch_id]
            timeline = stats.replay(entries[branch_id], since, now, state)
            figures = stats.figures(visits[branch_id], timeline.officers.values())
            service.metrics.set_factor(branch_id, figures.one_to_many_factor)
            all_times += timeline.officers.values()
            all_visits += visits[branch_id]
            all_series.append(stats.series(timeline, step))
            per_branch.append({
                "id": branch_id,
                "name": state.name,
                "figures": figures.to_dict(),
                "officers": [
                    stats.officer_figures(o.id, o.name, timeline.officers.get(o.id),
                                          visits[branch_id])
                    for o in sorted(state.officers.values(), key=lambda o: o.id)
                ],
            })
        totals = stats.figures(all_visits, all_times)
        return {
            "generated_at": now,
            "since": since,
            "branch": selection,
            "totals": totals.to_dict(),
            "branches": per_branch,
            "series": stats.sum_series(all_series).to_dict(),
            "alerts": stats.alerts(occ, now, wait_alert_s=self.cfg.dispatch.wait_alert_s,
                                   store_ok=store_ok),
            "thresholds": {"wait_alert_s": self.cfg.dispatch.wait_alert_s},
        }


class AlertPusher:
    """Pushes `alerts` to this process's ops sockets when the list changes.

    Woken by every state change (at most once per `min_interval_s`) and every `interval_s`
    anyway, since waits grow and the store can fail without any event."""

    def __init__(
        self,
        cfg: AppConfig,
        service: BoothService,
        sio: socketio.AsyncServer,
        api: StatsApi,
        *,
        interval_s: float = 5.0,
        min_interval_s: float = 1.0,
        figures_every_s: float = 120.0,
    ) -> None:
        self.cfg = cfg
        self.service = service
        self.sio = sio
        self.api = api
        self.interval_s = interval_s
        self.min_interval_s = min_interval_s
        self.figures_every_s = figures_every_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sent: dict[str, tuple[frozenset[str], tuple[tuple[str, str], ...]]] = {}
        service.on_change(self._mark)

    def _mark(self, branch_id: str) -> None:
        self._wake.set()

    async def start(self, _app: web.Application) -> None:
        self._task = asyncio.create_task(self._run(), name="lapak-alerts")

    async def stop(self, _app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_figures = loop.time()
        while True:
            # asyncio.timeout, not wait_for: see BoothService._timer_loop (shutdown hang).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.push()
                if loop.time() - last_figures >= self.figures_every_s:
                    last_figures = loop.time()
                    await self._refresh_factor_gauges()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alerts push failed")
            await asyncio.sleep(self.min_interval_s)

    async def _refresh_factor_gauges(self) -> None:
        with contextlib.suppress(ApiError):
            now = self.service.clock()
            await self.api.compute("all", self.service.branch_ids, stats.local_midnight(now),
                                   3600.0)

    async def current(self) -> list[dict[str, Any]]:
        """The alerts now; with the store down, only that (the rest cannot be known)."""
        now = self.service.clock()
        try:
            store_ok = await self.service.store.healthy()
        except StoreUnavailable:
            store_ok = False
        if not store_ok:
            self.service.metrics.store_up.set(0)
            return stats.alerts({"branches": []}, now, wait_alert_s=0, store_ok=False)
        try:
            occ = await occupancy(self.service)
        except ApiError:
            return stats.alerts({"branches": []}, now, wait_alert_s=0, store_ok=False)
        return stats.alerts(occ, now, wait_alert_s=self.cfg.dispatch.wait_alert_s)

    async def push(self) -> None:
        rooms = local_ops_rooms(self.sio)
        if not rooms:
            return
        found = await self.current()
        now = self.service.clock()
        for room, members in rooms.items():
            branch = room.split(":", 1)[1]
            mine = found if branch == "all" else [
                a for a in found if a["branch"] in (branch, "*")
            ]
            signature = (members, tuple((a["id"], a["severity"]) for a in mine))
            if self._sent.get(room) == signature:
                continue
            self._sent[room] = signature
            await self.sio.emit("alerts", {"generated_at": now, "alerts": mine}, room=room,
                                namespace="/ops", ignore_queue=True)
        for room in set(self._sent) - set(rooms):
            del self._sent[room]


__all__ = ["AlertPusher", "StatsApi", "stats_routes"]
