"""The aiohttp application: Socket.IO namespaces, HTTP API and the two web UIs, on one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from booth_server.config import AppConfig
from booth_server.core.dispatcher import Outbound
from booth_server.documents.vault import DocumentVault
from booth_server.metrics import Metrics
from booth_server.security import SecretVerifier, hash_secret
from booth_server.service import BoothService, Clock
from booth_server.store.base import Store
from booth_server.store.memory import MemoryStore
from booth_server.transport.booth_ns import BoothNamespace
from booth_server.transport.cso_ns import CsoNamespace
from booth_server.transport.guard import GuardedNamespace
from booth_server.transport.http_api import HttpApi, error_middleware
from booth_server.transport.occupancy import OccupancyBroadcaster
from booth_server.transport.ops_ns import OpsNamespace
from booth_server.transport.presence import PresenceKeeper
from booth_server.transport.relay import Relay
from booth_server.transport.stats_api import stats_routes
from booth_server.turn import ice_servers_for

log = logging.getLogger("lapak.app")

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_ROOT = REPO_ROOT / "cso_console"

SERVICE_KEY = web.AppKey("service", BoothService)
SIO_KEY = web.AppKey("sio", socketio.AsyncServer)


def make_store(cfg: AppConfig, redis_url: str | None = None) -> Store:
    url = redis_url or cfg.redis.url
    if url:
        from booth_server.store.redis_store import RedisStore

        store: Store = RedisStore(url)
        return store
    return MemoryStore(blob_dir=cfg.documents.storage_dir)


def create_app(
    cfg: AppConfig,
    *,
    store: Store | None = None,
    redis_url: str | None = None,
    console_root: Path = CONSOLE_ROOT,
    clock: Clock = time.time,
    run_timers: bool = True,
) -> web.Application:
    url = redis_url or cfg.redis.url
    store = store if store is not None else make_store(cfg, url)
    metrics = Metrics()
    metrics.watch_store(store)
    service = BoothService(cfg, store, metrics, clock=clock, run_timers=run_timers)
    manager = socketio.AsyncRedisManager(url, channel="lapak-socketio") if url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        logger=False,
        engineio_logger=False,
        # Larger than the per-event limit, so an oversized event reaches the handler and gets
        # its `too_large` ack instead of the transport closing the connection.
        max_http_buffer_size=max(1_000_000, cfg.limits.max_event_bytes * 4),
        ping_interval=10,
        ping_timeout=10,
    )
    verifier = SecretVerifier()
    # A hash to check unknown ids against, so a refusal takes as long as a wrong token.
    dummy_hash = hash_secret(secrets.token_urlsafe(16))
    relay = Relay(cfg, service, sio)
    booth_ns = BoothNamespace(cfg, service, relay, verifier, dummy_hash)
    cso_ns = CsoNamespace(cfg, service, relay)
    sio.register_namespace(booth_ns)
    sio.register_namespace(cso_ns)
    sio.register_namespace(OpsNamespace(cfg, service))
    broadcaster = OccupancyBroadcaster(service, sio)

    namespaces: dict[str, GuardedNamespace] = {"booth": booth_ns, "officer": cso_ns}

    async def deliver(outbound: list[Outbound]) -> None:
        now = service.clock()
        for message in outbound:
            data: dict[str, Any] = message.data
            if message.event in ("assigned", "session_started"):
                # TURN credentials are minted per party and session, at the moment of use.
                data = {**data, "ice_servers": ice_servers_for(
                    cfg.ice, f"{message.role}-{message.to}", now)}
            namespace = namespaces.get(message.role)
            if namespace is None:
                continue
            party = namespace.parties.get(message.conn) if message.conn else None
            if party is not None and party.id == message.to:
                # The party's live socket is on this process: straight to it, not through
                # the Redis manager's publish and every process's listener.
                await sio.emit(message.event, data, to=message.conn,
                               namespace=namespace.namespace, ignore_queue=True)
            else:
                await sio.emit(message.event, data, room=f"{message.role}:{message.to}",
                               namespace=namespace.namespace)

    service.set_delivery(deliver)
    vault = DocumentVault(store, cfg.documents.key_bytes(),
                          cfg.documents.retention_days * 86400.0)
    api = HttpApi(cfg, service, vault, verifier, dummy_hash)

    app = web.Application(
        middlewares=[error_middleware],
        client_max_size=cfg.documents.max_bytes + 1024 * 1024,
    )
    app[SERVICE_KEY] = service
    app[SIO_KEY] = sio
    sio.attach(app)
    app.add_routes(api.routes())
    app.add_routes(stats_routes(app, cfg, service, sio))
    _add_ui_routes(app, console_root)

    purge_task: list[asyncio.Task[None]] = []
    presence = PresenceKeeper(service, namespaces)

    async def on_startup(_app: web.Application) -> None:
        await service.start()
        purge_task.append(asyncio.create_task(_purge_loop(store)))
        purge_task.append(asyncio.create_task(presence.run()))
        log.info("booth server started", extra={"store": store.kind,
                                                "branches": len(cfg.branches)})

    async def on_cleanup(_app: web.Application) -> None:
        for task in purge_task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await broadcaster.close()
        await service.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


async def _purge_loop(store: Store) -> None:
    """Delete documents past their retention (Redis expires them by itself)."""
    purge = getattr(store, "purge_expired_blobs", None)
    if purge is None:
        return
    while True:
        try:
            removed = await purge()
            if removed:
                log.info("expired documents deleted", extra={"count": removed})
        except Exception:
            log.exception("document purge failed")
        await asyncio.sleep(3600)


def _add_ui_routes(app: web.Application, root: Path) -> None:
    def index(path: Path) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            if not await asyncio.to_thread(path.exists):
                raise web.HTTPNotFound(reason="this UI is not installed")
            return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

        return handler

    async def root_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/")

    app.router.add_get("/", root_redirect)
    for prefix, folder in (("/console/", root / "console"), ("/ops/", root / "ops")):
        app.router.add_get(prefix, index(folder / "index.html"))
        if folder.is_dir():
            app.router.add_static(prefix, folder, append_version=False)
    shared = root / "shared"
    if shared.is_dir():
        app.router.add_static("/shared/", shared)
    vendor = root / "node_modules" / "socket.io-client" / "dist"
    if vendor.is_dir():
        app.router.add_static("/vendor/socket.io-client/", vendor)
