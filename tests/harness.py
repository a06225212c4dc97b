"""Test harness: the real booth server on a loopback port and real python-socketio clients.

Used by the integration, booth, browser and chaos tests. Nothing here is a mock: the server is
the production app (`create_app`) on an aiohttp runner, clients speak Socket.IO over WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiohttp import web

from booth_server.config import AppConfig, default_config_path, demo_booth_token, load_config
from booth_server.store.base import Store
from booth_server.transport.app import create_app

# A server stops in well under a second; its aiohttp runner gives open requests up to 60 s.
STOP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_config(tmp_path: Path, **dispatch: float) -> AppConfig:
    """The demo config with documents in tmp_path and the given dispatch timings."""
    cfg = load_config(default_config_path(), env={})
    update: dict[str, Any] = {
        "documents": cfg.documents.model_copy(update={"storage_dir": tmp_path / "documents"}),
    }
    if dispatch:
        update["dispatch"] = cfg.dispatch.model_copy(update=dispatch)
    # Tests send bursts faster than a person would.
    update["limits"] = cfg.limits.model_copy(update={"rate_per_s": 200.0, "rate_burst": 400})
    return cfg.model_copy(update=update)


@dataclass
class RunningServer:
    url: str
    port: int
    app: web.Application
    runner: web.AppRunner
    cfg: AppConfig

    async def stop(self) -> None:
        expired = False
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S) as deadline:
                await self.runner.cleanup()
            # A shutdown that hung and then swallowed the timeout's cancellation hung all the same.
            expired = deadline.expired()
        except TimeoutError:
            expired = True
            for task in asyncio.all_tasks():  # show what every task was waiting for
                task.print_stack(file=sys.stderr)
        if expired:
            raise AssertionError(f"the server did not stop within {STOP_TIMEOUT_S} s")


async def start_server(
    cfg: AppConfig, *, store: Store | None = None, redis_url: str | None = None,
    port: int | None = None, **app_options: Any,
) -> RunningServer:
    app = create_app(cfg, store=store, redis_url=redis_url, **app_options)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return RunningServer(f"http://127.0.0.1:{port}", port, app, runner, cfg)


def booth_states(occupancy: dict[str, Any]) -> dict[str, str]:
    """Each booth's state in the first branch of an occupancy body."""
    return {b["id"]: b["state"] for b in occupancy["branches"][0]["booths"]}


async def login(url: str, username: str, password: str = "demo") -> str:
    async with aiohttp.ClientSession() as http, http.post(
        f"{url}/api/login", json={"username": username, "password": password}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise AssertionError(f"login {username}: {response.status} {body}")
        token: str = body["token"]
        return token


class Client:
    """A Socket.IO client that records every server event in per-event queues."""

    def __init__(self, namespace: str, auth: dict[str, Any]) -> None:
        self.namespace = namespace
        self.auth = auth
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2,
                                        reconnection_delay_max=1.0)
        self.events: dict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self.log: list[tuple[str, Any]] = []

        async def catch_all(event: str, data: Any = None) -> None:
            self.log.append((event, data))
            await self.events[event].put(data)

        self.sio.on("*", catch_all, namespace=namespace)

    @classmethod
    async def booth(cls, url: str, booth_id: str, token: str | None = None) -> Client:
        client = cls("/booth", {"booth_id": booth_id,
                                "token": token or demo_booth_token(booth_id)})
        await client.connect(url)
        return client

    @classmethod
    async def officer(cls, url: str, username: str) -> Client:
        client = cls("/cso", {"token": await login(url, username)})
        await client.connect(url)
        return client

    @classmethod
    async def ops(cls, url: str, username: str = "ops") -> Client:
        client = cls("/ops", {"token": await login(url, username)})
        await client.connect(url)
        return client

    async def connect(self, url: str) -> None:
        await self.sio.connect(url, namespaces=[self.namespace], auth=self.auth,
                               transports=["websocket"], wait_timeout=20)

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        if data is None:
            result = await self.sio.call(event, namespace=self.namespace, timeout=timeout)
        else:
            result = await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)
        assert isinstance(result, dict), result
        return result

    async def next(self, event: str, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.events[event].get(), timeout)

    async def next_matching(
        self, event: str, timeout: float = 5.0, **fields: Any
    ) -> dict[str, Any]:
        """The next `event` whose fields equal `fields`, skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            data = await self.next(event, max(0.01, deadline - loop.time()))
            if all(data.get(k) == v for k, v in fields.items()):
                return data

    async def occupancy_until(
        self, booth_id: str, state: str, timeout: float, updates: int = 5
    ) -> dict[str, Any]:
        """Occupancy updates (an ops client) until the first branch shows `booth_id` in
        `state`, at most `updates` of them; the last one seen."""
        for _ in range(updates):
            update = await self.next("occupancy", timeout=timeout)
            if booth_states(update)[booth_id] == state:
                break
        return update

    def drain(self, event: str) -> list[dict[str, Any]]:
        queue = self.events[event]
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    async def quiet(self, event: str, seconds: float) -> bool:
        """True when no `event` arrives for `seconds`."""
        try:
            await asyncio.wait_for(self.events[event].get(), seconds)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


@contextlib.asynccontextmanager
async def clients() -> AsyncIterator[list[Client]]:
    """Collects clients to close at the end of a test."""
    opened: list[Client] = []
    try:
        yield opened
    finally:
        await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
