#!/usr/bin/env python3
"""Dispatch and relay benchmark of the booth server, next to its floor, in one run.

- floor: a bare python-socketio server that only relays one event between two clients;
- relay: a signal from a booth to its officer through the real server (idle, then under load);
- dispatch: booth `ready` → officer `offer`, with N booths and M officers cycling through
  ready → offer → accept → complete for a while (default 1,000 booths / 200 officers in 20
  branches).

Every server runs in its own process on loopback. The clients of one measurement run in one
process and time both ends with one clock; each loaded configuration gets a fresh client
process, so none meets the previous one's leftovers. `--redis` adds the same load on the Redis
store (a private redis-server), with 1 and 2 server processes, and prints throughput (visits
per second).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import gc
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import socketio
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from booth_server.cli import GC_THRESHOLDS  # noqa: E402
from booth_server.fleet import Fleet, write_fleet_config  # noqa: E402

console = Console(width=150)
CANDIDATE = {"candidate": "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ srflx "
                          "raddr 0.0.0.0 rport 0 generation 0 ufrag Wm6p network-cost 999",
             "sdpMid": "0", "sdpMLineIndex": 0}


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def floor_server(port: int) -> None:
    """The floor: python-socketio on aiohttp that relays `relay` to the other client."""
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)

    @sio.on("relay")  # type: ignore[misc]
    async def relay(sid: str, data: dict[str, Any]) -> dict[str, bool]:
        await sio.emit("relay", data, room=data["to"])
        return {"ok": True}

    @sio.on("whoami")  # type: ignore[misc]
    async def whoami(sid: str, data: Any = None) -> str:
        return sid

    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def process(args: list[str], port: int | None, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    try:
        if port is not None:
            wait_port(port)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    with process([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(workdir)], port):
        yield f"redis://127.0.0.1:{port}/0"


def lapak_server(config: Path, port: int, redis_url: str | None = None
                 ) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    args = [sys.executable, "-m", "booth_server", "serve", "--config", str(config),
            "--port", str(port), "--log-level", "WARNING"]
    if redis_url:
        args += ["--redis", redis_url]
    return process(args, port)


# ---------------------------------------------------------------------------- measurements


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) * 1000 if values else float("nan")


async def relay_floor(url: str, samples: int) -> list[float]:
    a, b = socketio.AsyncClient(), socketio.AsyncClient()
    await a.connect(url, transports=["websocket"])
    await b.connect(url, transports=["websocket"])
    b_sid = await b.call("whoami")
    got: asyncio.Queue[float] = asyncio.Queue()

    @b.on("relay")  # type: ignore[misc]
    async def on_relay(data: dict[str, Any]) -> None:
        got.put_nowait(time.perf_counter() - data["t"])

    latencies = []
    for _ in range(samples):
        await a.emit("relay", {"to": b_sid, "t": time.perf_counter(), "session_id": "s-1",
                               "candidate": CANDIDATE})
        latencies.append(await asyncio.wait_for(got.get(), 5))
    await a.disconnect()
    await b.disconnect()
    return latencies


async def login(http: aiohttp.ClientSession, url: str, user: str, password: str) -> str:
    async with http.post(f"{url}/api/login", json={"username": user, "password": password}) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"login {user}: {body}")
        return str(body["token"])


@dataclass
class LoadStats:
    dispatch: list[float] = field(default_factory=list)
    relay: list[float] = field(default_factory=list)
    visits: int = 0
    errors: int = 0
    max_load: dict[str, int] = field(default_factory=dict)


class Officer:
    def __init__(self, officer_id: str, url: str, token: str, stats: LoadStats,
                 ready_at: dict[str, float], hold: tuple[float, float], capacity: int) -> None:
        self.id = officer_id
        self.url = url
        self.token = token
        self.stats = stats
        self.ready_at = ready_at
        self.hold = hold
        self.capacity = capacity
        self.active: set[str] = set()
        self.sio = socketio.AsyncClient(reconnection=True)
        self.sio.on("offer", self.on_offer, namespace="/cso")
        self.sio.on("session_started", self.on_started, namespace="/cso")
        self.sio.on("signal", self.on_signal, namespace="/cso")
        self.running = True

    async def connect(self) -> None:
        await self.sio.connect(self.url, namespaces=["/cso"], auth={"token": self.token},
                               transports=["websocket"], wait_timeout=20)

    async def on_offer(self, data: dict[str, Any]) -> None:
        t0 = self.ready_at.pop(data["booth"]["id"], None)
        if t0 is not None:
            self.stats.dispatch.append(time.perf_counter() - t0)
        try:
            reply = await self.sio.call("accept", {"session_id": data["session_id"]},
                                        namespace="/cso", timeout=10)
        except socketio.exceptions.SocketIOError:
            if self.running:  # not the run's end disconnecting under an offer
                self.stats.errors += 1
            return
        if not reply.get("ok"):
            self.stats.errors += 1

    async def on_started(self, data: dict[str, Any]) -> None:
        self.active.add(data["session_id"])
        load = len(self.active)
        self.stats.max_load[self.id] = max(self.stats.max_load.get(self.id, 0), load)
        asyncio.get_running_loop().create_task(self.finish(data["session_id"]))

    async def on_signal(self, data: dict[str, Any]) -> None:
        if "t" in data.get("candidate", {}).get("usernameFragment", "t"):
            return
        sent = float(data["candidate"]["usernameFragment"])
        self.stats.relay.append(time.perf_counter() - sent)

    async def finish(self, session_id: str) -> None:
        await asyncio.sleep(random.uniform(*self.hold))
        with contextlib.suppress(Exception):
            reply = await self.sio.call("complete", {"session_id": session_id,
                                                     "outcome": "claim_submitted"},
                                        namespace="/cso", timeout=10)
            if reply.get("ok"):
                self.stats.visits += 1
            else:
                self.stats.errors += 1
        self.active.discard(session_id)


class Booth:
    def __init__(self, booth_id: str, url: str, token: str, stats: LoadStats,
                 ready_at: dict[str, float], think: tuple[float, float]) -> None:
        self.id = booth_id
        self.url = url
        self.token = token
        self.stats = stats
        self.ready_at = ready_at
        self.think = think
        self.sio = socketio.AsyncClient(reconnection=True)
        self.sio.on("assigned", self.on_assigned, namespace="/booth")
        self.sio.on("session_ended", self.on_ended, namespace="/booth")
        self.running = True

    async def connect(self) -> None:
        await self.sio.connect(self.url, namespaces=["/booth"],
                               auth={"booth_id": self.id, "token": self.token},
                               transports=["websocket"], wait_timeout=20)

    async def ready(self) -> None:
        if not self.running:
            return
        self.ready_at[self.id] = time.perf_counter()
        with contextlib.suppress(Exception):
            reply = await self.sio.call("ready", {}, namespace="/booth", timeout=10)
            if not reply.get("ok"):
                self.stats.errors += 1

    async def on_assigned(self, data: dict[str, Any]) -> None:
        # One signal per session, timed: the relay under load.
        candidate = {**CANDIDATE, "usernameFragment": repr(time.perf_counter())}
        with contextlib.suppress(Exception):
            await self.sio.call("signal", {"session_id": data["session_id"],
                                           "candidate": candidate},
                                namespace="/booth", timeout=10)

    async def on_ended(self, data: dict[str, Any]) -> None:
        await asyncio.sleep(random.uniform(*self.think))
        await self.ready()


async def connect_all(items: list[Any], batch: int = 50) -> None:
    for start in range(0, len(items), batch):
        await asyncio.gather(*(item.connect() for item in items[start:start + batch]))


@contextlib.asynccontextmanager
async def fleet_clients(fleet: Fleet, urls: list[str], stats: LoadStats, hold: tuple[float,
                        float], think: tuple[float, float], capacity: int
                        ) -> AsyncIterator[tuple[list[Booth], list[Officer]]]:
    ready_at: dict[str, float] = {}
    async with aiohttp.ClientSession() as http:
        token = await login(http, urls[0], fleet.officers[0][0], fleet.password)
        tokens = {fleet.officers[0][0]: token}
        for officer_id, _ in fleet.officers[1:]:
            tokens[officer_id] = await login(http, urls[0], officer_id, fleet.password)
    officers = [Officer(o, urls[i % len(urls)], tokens[o], stats, ready_at, hold, capacity)
                for i, (o, _) in enumerate(fleet.officers)]
    booths = [Booth(b, urls[i % len(urls)], fleet.token, stats, ready_at, think)
              for i, (b, _) in enumerate(fleet.booths)]
    await connect_all(officers)
    await connect_all(booths)
    # The 1,200 clients share this one process, so one full collection of their heap would
    # stall every one of them at once and count against the server. Real booths and consoles
    # are separate machines: give the load generator the server's collector settings.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield booths, officers
    finally:
        gc.unfreeze()
        for c in [*booths, *officers]:
            c.running = False
        await asyncio.gather(*(c.sio.disconnect() for c in [*booths, *officers]),
                             return_exceptions=True)


async def relay_idle(url: str, fleet: Fleet, samples: int) -> list[float]:
    """One booth and its officer in a live session; sequential signals booth → officer."""
    async with aiohttp.ClientSession() as http:
        token = await login(http, url, fleet.officers[0][0], fleet.password)
    officer = socketio.AsyncClient()
    booth = socketio.AsyncClient()
    offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    got: asyncio.Queue[float] = asyncio.Queue()
    officer.on("offer", lambda d: offers.put_nowait(d), namespace="/cso")

    def on_signal(data: dict[str, Any]) -> None:
        got.put_nowait(time.perf_counter() - float(data["candidate"]["usernameFragment"]))

    officer.on("signal", on_signal, namespace="/cso")
    await officer.connect(url, namespaces=["/cso"], auth={"token": token},
                          transports=["websocket"])
    booth_id = next(b for b, branch in fleet.booths if branch == fleet.officers[0][1])
    await booth.connect(url, namespaces=["/booth"], auth={"booth_id": booth_id,
                                                          "token": fleet.token},
                        transports=["websocket"])
    ready = await booth.call("ready", {}, namespace="/booth")
    offer = await asyncio.wait_for(offers.get(), 5)
    await officer.call("accept", {"session_id": offer["session_id"]}, namespace="/cso")
    latencies = []
    for _ in range(samples):
        candidate = {**CANDIDATE, "usernameFragment": repr(time.perf_counter())}
        await booth.emit("signal", {"session_id": ready["session_id"], "candidate": candidate},
                         namespace="/booth")
        latencies.append(await asyncio.wait_for(got.get(), 5))
    await officer.call("complete", {"session_id": ready["session_id"], "outcome": "other"},
                       namespace="/cso")
    await booth.disconnect()
    await officer.disconnect()
    return latencies


async def run_load(fleet: Fleet, urls: list[str], duration: float, hold: tuple[float, float],
                   think: tuple[float, float], capacity: int, warmup: float
                   ) -> tuple[LoadStats, float]:
    stats = LoadStats()
    async with fleet_clients(fleet, urls, stats, hold, think, capacity) as (booths, _):
        started = time.perf_counter()
        # Stagger the first wave so the run measures steady state, not a thundering herd.
        for booth in booths:
            asyncio.get_running_loop().call_later(random.uniform(0, max(think[1], 3.0)),
                                                  lambda b=booth: asyncio.ensure_future(
                                                      b.ready()))
        # The first wave starts in step; measure the steady state after it.
        await asyncio.sleep(warmup)
        stats.dispatch.clear()
        stats.relay.clear()
        stats.visits = 0
        stats.errors = 0
        started = time.perf_counter()
        await asyncio.sleep(duration)
        elapsed = time.perf_counter() - started
    return stats, elapsed


def _load_in_child(fleet: Fleet, urls: list[str], duration: float, hold: tuple[float, float],
                   think: tuple[float, float], capacity: int, warmup: float
                   ) -> tuple[LoadStats, float]:
    return asyncio.run(run_load(fleet, urls, duration, hold, think, capacity, warmup))


async def run_load_isolated(fleet: Fleet, urls: list[str], duration: float,
                            hold: tuple[float, float], think: tuple[float, float],
                            capacity: int, warmup: float) -> tuple[LoadStats, float]:
    """`run_load` in a fresh process: every configuration meets a load generator without the
    previous one's leftovers (its heap, its clients' timers), so they compare fairly."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await loop.run_in_executor(pool, _load_in_child, fleet, urls, duration, hold,
                                          think, capacity, warmup)


# ---------------------------------------------------------------------------- report


def p99_interval(values: list[float], rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A 95 % bootstrap interval of the p99 (ms): with ~900 samples the p99 is the 9th
    slowest, so how far it could move with the same load is worth printing next to it."""
    if len(values) < 100:
        return float("nan"), float("nan")
    data = np.array(values)
    rng = np.random.default_rng(seed)
    rounds = max(200, min(rounds, 4_000_000 // len(data)))  # memory: rounds × samples
    samples = rng.choice(data, size=(rounds, len(data)), replace=True)
    p99s = np.percentile(samples, 99, axis=1) * 1000
    low, high = np.percentile(p99s, [2.5, 97.5])
    return float(low), float(high)


def row(table: Table, name: str, values: list[float], extra: str = "") -> None:
    low, high = p99_interval(values)
    table.add_row(name, str(len(values)), f"{pct(values, 50):.2f}", f"{pct(values, 99):.2f}",
                  f"{low:.1f}–{high:.1f}", f"{pct(values, 100):.2f}", extra)


async def main_async(args: argparse.Namespace) -> int:
    hold = (args.hold_min, args.hold_max)
    think = (args.think_min, args.think_max)
    with tempfile.TemporaryDirectory(prefix="lapak-bench-") as tmp:
        workdir = Path(tmp)
        branches = args.branches
        fleet = write_fleet_config(
            workdir / "fleet.toml", branches=branches,
            booths_per_branch=args.booths // branches,
            officers_per_branch=args.officers // branches, capacity=args.capacity,
            rate_per_s=5000.0,  # the relay samples are sent back to back
        )
        console.print(f"warm-up {args.warmup:.0f} s, then {args.duration:.0f} s measured")
        console.print(f"fleet: {len(fleet.booths)} booths, {len(fleet.officers)} officers "
                      f"(capacity {args.capacity}) in {branches} branches; "
                      f"hold {hold[0]}–{hold[1]} s, think {think[0]}–{think[1]} s")
        table = Table(title="Relay and dispatch latency (ms)")
        for col in ("measure", "samples", "p50", "p99", "p99 95% CI", "max", "note"):
            table.add_column(col, justify="right" if col not in ("measure", "note") else "left")
        results: dict[str, Any] = {}

        port = free_port()
        with process([sys.executable, __file__, "--floor-server", str(port)], port):
            floor = await relay_floor(f"http://127.0.0.1:{port}", args.relay_samples)
        row(table, "floor: bare python-socketio relay", floor)

        @contextlib.contextmanager
        def servers(redis: bool, processes: int) -> Iterator[list[str]]:
            """Fresh server processes (and a fresh Redis): no run sees another's sessions."""
            ports = [free_port() for _ in range(processes)]
            with contextlib.ExitStack() as stack:
                redis_url = stack.enter_context(redis_server(workdir)) if redis else None
                for p in ports:
                    stack.enter_context(lapak_server(fleet.path, p, redis_url))
                yield [f"http://127.0.0.1:{p}" for p in ports]

        configurations = [("memory", False, 1)]
        if args.redis:
            configurations += [("redis, 1 proc", True, 1), ("redis, 2 proc", True, 2)]
        for label, redis, processes in configurations:
            with servers(redis, processes) as urls:
                if processes == 1:
                    idle = await relay_idle(urls[0], fleet, args.relay_samples)
                    results[f"idle {label}"] = idle
                    row(table, f"relay booth→officer, idle ({label})", idle,
                        f"{pct(idle, 50) / pct(floor, 50):.2f}× floor p50")
                stats, elapsed = await run_load_isolated(fleet, urls, args.duration, hold,
                                                         think, args.capacity, args.warmup)
            results[f"load {label}"] = stats
            row(table, f"relay under load ({label})", stats.relay)
            row(table, f"dispatch ready→offer ({label})", stats.dispatch,
                f"{stats.visits / elapsed:.1f} visits/s, {stats.errors} errors")
            over = [o for o, n in stats.max_load.items() if n > args.capacity]
            if over:
                console.print(f"[red]officers over capacity ({label}): {over}")
            if args.throughput_s > 0:
                # Saturation: visits as fast as the server takes them, on fresh servers.
                with servers(redis, processes) as urls:
                    fast, fast_elapsed = await run_load_isolated(
                        fleet, urls, args.throughput_s, (0.2, 0.5), (0.05, 0.2),
                        args.capacity, 3.0)
                rate = fast.visits / fast_elapsed
                results[f"throughput {label}"] = rate
                row(table, f"saturated dispatch ({label})", fast.dispatch,
                    f"throughput {rate:.1f} visits/s, {fast.errors} errors")
        console.print(table)
        mem_idle = results["idle memory"]
        console.print(
            f"targets: relay idle p50 within 1.3× floor → "
            f"{pct(mem_idle, 50) / pct(floor, 50):.2f}× (memory); dispatch p99 < 20 ms "
            f"(memory) → {pct(results['load memory'].dispatch, 99):.2f} ms"
        )
        if "load redis, 1 proc" in results:
            figures = []
            for processes in (1, 2):
                dispatch = results[f"load redis, {processes} proc"].dispatch
                low, high = p99_interval(dispatch)
                figures.append(f"{pct(dispatch, 99):.2f} ms ({processes} process"
                               f"{'es' if processes > 1 else ''}; 95% CI {low:.1f}–{high:.1f})")
            console.print("Redis dispatch p99 < 25 ms → " + ", ".join(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--booths", type=int, default=1000)
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=5, choices=range(1, 7))
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    # A real visit takes 10-30 minutes; these cycle every booth ~50x faster than a branch does
    # (1,000 booths: ~30 visits/s), which is load enough to measure dispatch under.
    parser.add_argument("--hold-min", type=float, default=20.0, help="session length, s")
    parser.add_argument("--hold-max", type=float, default=40.0)
    parser.add_argument("--think-min", type=float, default=2.0, help="pause between visits, s")
    parser.add_argument("--think-max", type=float, default=10.0)
    parser.add_argument("--throughput-s", type=float, default=15.0,
                        help="seconds of saturated load per configuration (0: skip)")
    parser.add_argument("--warmup", type=float, default=20.0,
                        help="seconds of load before measuring (the first wave is in step)")
    parser.add_argument("--relay-samples", type=int, default=1000)
    parser.add_argument("--redis", action="store_true", help="also run on the Redis store")
    parser.add_argument("--floor-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_server:
        floor_server(args.floor_server)
        return 0
    if args.booths % args.branches or args.officers % args.branches:
        parser.error("--booths and --officers must divide evenly into --branches")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
