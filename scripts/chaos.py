#!/usr/bin/env python3
"""Chaos run: several booth-server processes on one Redis, real Socket.IO clients, faults.

It starts everything itself on loopback and touches nothing else:
- a private `redis-server` on a free port (append-only file, fsync on every write, so a
  restart keeps every acknowledged write);
- N `lapak-asik serve --redis` processes on a generated config (booths and officers spread over
  branches; every token and password stored as an argon2 hash, as in production);
- a small TCP round-robin balancer in front of them, so a client whose process died comes back
  through the same address to a live one (WebSocket only: no sticky sessions);
- booths and officers as python-socketio clients, cycling through visits: the booth says
  `ready`, the officer accepts the offer (now and then declines), completes after a while; now
  and then a participant leaves. Clients keep their own records and reconcile by themselves
  (`ready` is idempotent, `get_state` restores a console), as the real kiosk and console do.

While they run, random server processes are SIGKILLed and restarted, and Redis is killed and
restarted once. At the end the audit log (from Redis) and the clients' records are checked:
no officer ever over capacity, no booth in two sessions, no session with two officers, no session
lost (each ended with a recorded reason or still live), every ok'd `ready` really committed, and
every client reconnected by itself. The counts are printed; the exit status is 0 only if every
check holds. `--json PATH` writes the same figures for tests.

    .venv/bin/python scripts/chaos.py                       # 3 processes, 200 booths, 40 officers
    .venv/bin/python scripts/chaos.py --booths 40 --officers 8 --duration 45
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------------------- the balancer


async def run_balancer(listen_port: int, backends: list[int]) -> None:
    """Round-robin TCP forwarding to the first backend that accepts the connection."""
    turn = itertools.count()

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = next(turn)
        for i in range(len(backends)):
            port = backends[(start + i) % len(backends)]
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(LOOPBACK, port), 1.0
                )
            except (OSError, TimeoutError):
                continue
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
            return
        writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------------------- configuration


@dataclass
class Credentials:
    booth_token: str
    password: str
    booths: list[tuple[str, str]]  # (booth id, branch)
    officers: dict[str, tuple[str, int]]  # id -> (branch, capacity)
    branches: list[str]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string is a JSON string for these values


def write_config(
    path: Path, workdir: Path, *, booths: int, officers: int, per_branch: int,
    offer_timeout_s: float, grace_s: float, rng: random.Random,
) -> Credentials:
    from booth_server.security import hash_secret

    # One token for every booth and one password for every user: hashed with argon2 like any
    # config, but hashed once, so a run with 240 parties does not spend a minute on hashing.
    booth_token = secrets.token_urlsafe(18)
    password = secrets.token_urlsafe(12)
    token_hash = hash_secret(booth_token)
    password_hash = hash_secret(password)
    n_branches = max(1, math.ceil(booths / per_branch))
    branches = [f"cabang-{i:02d}" for i in range(1, n_branches + 1)]
    lines = [
        "[server]",
        f"host = {_toml(LOOPBACK)}",
        f"secret = {_toml(secrets.token_urlsafe(32))}",
        "",
        "[dispatch]",
        f"offer_timeout_s = {_toml(offer_timeout_s)}",
        f"officer_grace_s = {_toml(grace_s)}",
        f"booth_grace_s = {_toml(grace_s)}",
        "",
        "[limits]",
        "rate_per_s = 200.0",
        "rate_burst = 400",
        "login_max_failures = 1000",
        "",
        "[documents]",
        f"key = {_toml(base64.b64encode(secrets.token_bytes(32)).decode())}",
        f"storage_dir = {_toml(workdir / 'documents')}",
        "",
    ]
    for branch in branches:
        lines += ["[[branches]]", f"id = {_toml(branch)}", f"name = {_toml(branch.title())}", ""]
    booth_list: list[tuple[str, str]] = []
    for i in range(booths):
        branch = branches[i % n_branches]
        booth_id = f"{branch}-b{i // n_branches + 1:03d}"
        booth_list.append((booth_id, branch))
        lines += ["[[booths]]", f"id = {_toml(booth_id)}", f"branch = {_toml(branch)}",
                  f"label = {_toml('Bilik ' + booth_id[-3:])}",
                  f"token_hash = {_toml(token_hash)}", ""]
    officer_map: dict[str, tuple[str, int]] = {}
    for i in range(officers):
        branch = branches[i % n_branches]
        officer_id = f"cso{i + 1:03d}"
        capacity = rng.choice((2, 3, 4, 5, 6))
        officer_map[officer_id] = (branch, capacity)
        lines += ["[[users]]", f"id = {_toml(officer_id)}",
                  f"name = {_toml(f'Petugas {i + 1}')}", 'role = "officer"',
                  f"branch = {_toml(branch)}", f"capacity = {capacity}",
                  # Some consoles take every offer at once: the other path through dispatch.
                  f"auto_accept = {_toml(i % 5 == 4)}",
                  f"password_hash = {_toml(password_hash)}", ""]
    path.write_text("\n".join(lines))
    return Credentials(booth_token, password, booth_list, officer_map, branches)


# ---------------------------------------------------------------------------- processes


class ServerProcess:
    def __init__(self, index: int, port: int, config: Path, redis_url: str, logdir: Path):
        self.index = index
        self.port = port
        self.config = config
        self.redis_url = redis_url
        self.log_path = logdir / f"server-{index}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "booth_server", "serve", "--config", str(self.config),
             "--port", str(self.port), "--redis", self.redis_url, "--log-level", "WARNING"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{LOOPBACK}:{self.port}/api/health", timeout=1.0
            ) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    async def wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if await asyncio.to_thread(self.healthy):
                return True
            await asyncio.sleep(0.1)
        return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


# ---------------------------------------------------------------------------- clients


@dataclass
class Record:
    """What one client saw, kept by the client itself."""

    kind: str
    id: str
    connects: int = 0
    disconnects: int = 0
    connect_refusals: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Agent:
    namespace = "/"

    def __init__(self, url: str, kind: str, party_id: str, rng: random.Random) -> None:
        import socketio

        self.url = url
        self.rng = rng
        self.record = Record(kind, party_id)
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.3, reconnection_delay_max=2.0,
            randomization_factor=0.5,
        )
        self.changed = asyncio.Event()
        self.sio.on("connect", self._on_connect, namespace=self.namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        self.sio.on("connect_error", self._on_connect_error, namespace=self.namespace)

    async def _on_connect(self) -> None:
        self.record.connects += 1
        self.changed.set()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.record.disconnects += 1

    async def _on_connect_error(self, data: Any = None) -> None:
        self.record.connect_refusals += 1

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected) and self.namespace in self.sio.namespaces

    async def auth(self) -> dict[str, Any]:
        raise NotImplementedError

    async def run(self, stop_new: asyncio.Event, stop: asyncio.Event) -> None:
        raise NotImplementedError

    async def connect_first(self, stop: asyncio.Event) -> None:
        """The first connection; after it the client library reconnects by itself."""
        while not stop.is_set():
            try:
                await self.sio.connect(self.url, namespaces=[self.namespace],
                                       auth=await self.auth(), transports=["websocket"],
                                       wait_timeout=10)
                return
            except Exception as exc:
                self.record.errors[f"first-connect:{type(exc).__name__}"] += 1
                await asyncio.sleep(self.rng.uniform(0.5, 1.5))

    async def call(self, event: str, data: Any = None) -> dict[str, Any] | None:
        """The ack, or None when there was none (disconnected, timed out)."""
        if not self.connected:
            return None
        try:
            if data is None:
                ack = await self.sio.call(event, namespace=self.namespace, timeout=6)
            else:
                ack = await self.sio.call(event, data, namespace=self.namespace, timeout=6)
        except Exception as exc:
            self.record.errors[f"{event}:{type(exc).__name__}"] += 1
            return None
        if not isinstance(ack, dict):
            self.record.errors[f"{event}:bad-ack"] += 1
            return None
        if not ack.get("ok"):
            self.record.errors[f"{event}:{ack.get('error', {}).get('code')}"] += 1
        return ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


class BoothAgent(Agent):
    namespace = "/booth"

    def __init__(self, url: str, booth_id: str, token: str, rng: random.Random) -> None:
        super().__init__(url, "booth", booth_id, rng)
        self.token = token
        self.current: str | None = None
        self.current_state: str | None = None
        self.acked: list[str] = []  # every session id an ok `ready` ack named
        self.ended_seen: dict[str, str] = {}  # session -> reason, from `session_ended`
        self.ended_unseen: list[str] = []  # sessions that ended while this booth was away
        self.assigned: dict[str, str] = {}  # session -> officer, from `assigned`
        self.sio.on("session_ended", self._on_ended, namespace=self.namespace)
        self.sio.on("assigned", self._on_assigned, namespace=self.namespace)

    async def auth(self) -> dict[str, Any]:
        return {"booth_id": self.record.id, "token": self.token}

    async def _on_ended(self, data: dict[str, Any]) -> None:
        session_id = data.get("session_id")
        if session_id:
            self.ended_seen[session_id] = str(data.get("reason"))
        if session_id == self.current:
            self.current = None
            self.changed.set()

    async def _on_assigned(self, data: dict[str, Any]) -> None:
        self.assigned[data["session_id"]] = data["officer"]["id"]

    async def run(self, stop_new: asyncio.Event, stop: asyncio.Event) -> None:
        await self.connect_first(stop)
        while not stop.is_set():
            self.changed.clear()
            if self.connected and not (stop_new.is_set() and self.current is None):
                if self.current is None:
                    await asyncio.sleep(self.rng.uniform(0.2, 1.0))  # the next participant
                # Also a reconciliation: for a booth in a session `ready` names that session;
                # if it names another, the old one ended while this booth was not looking.
                ack = await self.call("ready", {"ticket": f"T{self.rng.randrange(1000):03d}"})
                if ack is not None and ack.get("ok"):
                    session_id = ack["session_id"]
                    if session_id not in self.acked:
                        self.acked.append(session_id)
                    previous = self.current
                    if previous is not None and previous not in (session_id, *self.ended_seen):
                        self.ended_unseen.append(previous)
                    self.current = session_id
                    self.current_state = ack.get("state", "queued")
                    if self.current_state == "queued" and self.rng.random() < 0.03:
                        cancel = await self.call(
                            "cancel", {"session_id": session_id, "reason": "participant_left"}
                        )
                        if cancel is not None and cancel.get("ok"):
                            self.ended_seen[session_id] = "participant_left"
                            self.current = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), self.rng.uniform(1.5, 2.5))


class OfficerAgent(Agent):
    namespace = "/cso"

    def __init__(self, url: str, officer_id: str, password: str, capacity: int,
                 rng: random.Random) -> None:
        super().__init__(url, "officer", officer_id, rng)
        self.password = password
        self.capacity = capacity
        self.token: str | None = None
        self.busy: dict[str, asyncio.Task[Any]] = {}
        self.completed: list[str] = []
        self.max_load = 0
        self.over_capacity: list[int] = []
        self.stopping = False
        self.sio.on("state", self._on_state, namespace=self.namespace)
        self.sio.on("offer", self._on_offer, namespace=self.namespace)
        self.sio.on("session_started", self._on_started, namespace=self.namespace)

    async def auth(self) -> dict[str, Any]:
        if self.token is None:
            import aiohttp

            async with aiohttp.ClientSession() as http, http.post(
                f"{self.url}/api/login",
                json={"username": self.record.id, "password": self.password},
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                body = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"login {response.status}: {body}")
                self.token = body["token"]
        return {"token": self.token}

    def _spawn(self, session_id: str, job: Callable[[str], Coroutine[Any, Any, Any]]) -> None:
        """At most one job (answer, then serve) per session at a time."""
        if self.stopping or session_id in self.busy:
            return
        task = asyncio.create_task(job(session_id))
        self.busy[session_id] = task

        def done(finished: asyncio.Task[Any]) -> None:
            if self.busy.get(session_id) is finished:
                del self.busy[session_id]

        task.add_done_callback(done)

    async def _on_state(self, body: dict[str, Any]) -> None:
        await self.handle_state(body)

    async def _on_offer(self, data: dict[str, Any]) -> None:
        self._spawn(data["session_id"], self._answer)

    async def _on_started(self, data: dict[str, Any]) -> None:
        self._spawn(data["session_id"], self._serve)

    async def handle_state(self, body: dict[str, Any]) -> None:
        officer = body.get("officer", {})
        load = int(officer.get("load", 0))
        self.max_load = max(self.max_load, load)
        if load > self.capacity:
            self.over_capacity.append(load)
        if officer.get("status") in ("not_responding", "paused") and not self.stopping:
            self._spawn("status", self._available)
        for offer in body.get("offers", []):
            self._spawn(offer["session_id"], self._answer)
        for session in body.get("sessions", []):
            self._spawn(session["session_id"], self._serve)

    async def _available(self, _key: str) -> None:
        await self.call("set_status", {"status": "available"})

    async def _answer(self, session_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.1, 0.6))
        if self.rng.random() < 0.05:
            await self.call("decline", {"session_id": session_id, "reason": "busy"})
            return
        ack = await self.call("accept", {"session_id": session_id})
        if ack is not None and ack.get("ok"):
            await self._serve(session_id)

    async def _serve(self, session_id: str) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 2.5))  # the visit itself
        ack = await self.call("complete", {"session_id": session_id,
                                           "outcome": "claim_submitted"})
        if ack is not None and ack.get("ok"):
            self.completed.append(session_id)

    async def run(self, stop_new: asyncio.Event, stop: asyncio.Event) -> None:
        await self.connect_first(stop)
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(1.0, 2.0))
            if self.connected:
                ack = await self.call("get_state")
                if ack is not None and ack.get("ok"):
                    await self.handle_state(ack)
        self.stopping = True
        for task in list(self.busy.values()):
            task.cancel()


# ---------------------------------------------------------------------------- checks


@dataclass
class Replay:
    violations: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # session -> booth
    ended: dict[str, str] = field(default_factory=dict)  # session -> reason
    peak_ratio: float = 0.0
    offers: int = 0
    starts: int = 0
    requeues: Counter[str] = field(default_factory=Counter)


def replay_audit(entries: list[Any], capacity: dict[str, int], out: Replay) -> None:
    """Walk one branch's audit log in commit order and check the invariants at every step."""
    load: dict[str, set[str]] = defaultdict(set)
    holder: dict[str, str] = {}
    live_of_booth: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        sid = e.session_id
        if sid is None:
            continue
        if e.event == "ready":
            out.created[sid] = e.booth_id
            live_of_booth[e.booth_id].add(sid)
            if len(live_of_booth[e.booth_id]) > 1:
                out.violations.append(f"booth {e.booth_id} in two sessions at {e.at}: "
                                      f"{sorted(live_of_booth[e.booth_id])}")
        elif e.event in ("offered", "session_started"):
            officer = e.officer_id
            if holder.get(sid, officer) != officer:
                out.violations.append(f"session {sid} with two officers: {holder[sid]}, "
                                      f"{officer}")
            holder[sid] = officer
            load[officer].add(sid)
            if e.event == "offered":
                out.offers += 1
            else:
                out.starts += 1
        elif e.event == "transferred":
            load[e.officer_id].discard(sid)
            holder.pop(sid, None)
        elif e.event == "requeued":
            out.requeues[e.reason or "?"] += 1
            if e.officer_id:
                load[e.officer_id].discard(sid)
            holder.pop(sid, None)
        elif e.event == "session_ended":
            if e.officer_id:
                load[e.officer_id].discard(sid)
            holder.pop(sid, None)
            live_of_booth[e.booth_id].discard(sid)
            if sid in out.ended:
                out.violations.append(f"session {sid} ended twice")
            out.ended[sid] = e.reason or ""
        officer_id = e.officer_id
        if officer_id in load:
            held = len(load[officer_id])
            cap = capacity.get(officer_id, 0)
            if held > cap:
                out.violations.append(f"officer {officer_id} held {held} > capacity {cap} "
                                      f"at {e.at} ({e.event} {sid})")
            if cap:
                out.peak_ratio = max(out.peak_ratio, held / cap)


async def collect_and_check(
    redis_url: str, creds: Credentials, booths: list[BoothAgent], officers: list[OfficerAgent],
) -> dict[str, Any]:
    from booth_server.store.redis_store import RedisStore

    store = RedisStore(redis_url, socket_timeout=5.0)
    try:
        # State first, then the log: whatever ends in between is in both, never in neither.
        live: dict[str, str] = {}
        for branch in creds.branches:
            state = await store.snapshot(branch)
            for session in state.sessions.values():
                live[session.id] = session.state
        replay = Replay()
        capacity = {o: cap for o, (_b, cap) in creds.officers.items()}
        audit_total = 0
        for branch in creds.branches:
            entries = await store.audit(branch, limit=0)
            audit_total += len(entries)
            replay_audit(entries, capacity, replay)
        visits = await store.visits()
    finally:
        await store.close()

    problems = list(replay.violations)
    created, ended = replay.created, replay.ended
    lost = sorted(set(created) - set(ended) - set(live))
    if lost:
        problems.append(f"{len(lost)} sessions lost (created, never ended, not live): {lost[:5]}")
    phantom = sorted(set(live) - set(created))
    if phantom:
        problems.append(f"{len(phantom)} live sessions without a `ready` in the log")
    no_reason = [s for s, r in ended.items() if not r]
    if no_reason:
        problems.append(f"{len(no_reason)} sessions ended without a reason")
    visit_ids = Counter(v.session_id for v in visits)
    if set(visit_ids) != set(ended) or any(n > 1 for n in visit_ids.values()):
        problems.append(f"visits ({len(visit_ids)}) do not match ended sessions ({len(ended)})")

    # The clients' own records against the log.
    owner: dict[str, str] = {}
    for booth in booths:
        for session_id in booth.acked:
            if session_id not in created:
                problems.append(f"booth {booth.record.id}: `ready` ok'd {session_id}, which "
                                "was never committed")
            elif created[session_id] != booth.record.id:
                problems.append(f"session {session_id} acked to {booth.record.id} but created "
                                f"for {created[session_id]}")
            if owner.setdefault(session_id, booth.record.id) != booth.record.id:
                problems.append(f"session {session_id} acked to two booths")
        for session_id, reason in booth.ended_seen.items():
            if session_id in created and ended.get(session_id) not in (reason, None):
                problems.append(f"booth {booth.record.id}: {session_id} ended '{reason}', log "
                                f"says '{ended.get(session_id)}'")
    for officer in officers:
        if officer.over_capacity:
            problems.append(f"officer {officer.record.id} reported load "
                            f"{max(officer.over_capacity)} > capacity {officer.capacity}")

    agents: list[Agent] = [*booths, *officers]
    dropped = [a for a in agents if a.record.disconnects > 0]
    reconnected = [a for a in dropped if a.connected and a.record.connects > a.record.disconnects]
    not_connected = [a.record.id for a in agents if not a.connected]
    if not_connected:
        problems.append(f"{len(not_connected)} clients not connected at the end: "
                        f"{not_connected[:5]}")
    errors: Counter[str] = Counter()
    for agent in agents:
        errors.update(agent.record.errors)

    live_states = Counter(live.values())
    return {
        "clients": len(agents),
        "booths": len(booths),
        "officers": len(officers),
        "clients_dropped": len(dropped),
        "clients_reconnected": len(reconnected),
        "clients_connected_at_end": len(agents) - len(not_connected),
        "reconnects": sum(max(0, a.record.connects - 1) for a in agents),
        "sessions_created": len(created),
        "sessions_ended": len(ended),
        "ended_by_reason": dict(Counter(ended.values())),
        "sessions_live_at_end": dict(live_states),
        "sessions_lost": len(lost),
        "visits_recorded": len(visit_ids),
        "offers": replay.offers,
        "sessions_started": replay.starts,
        "requeues_by_reason": dict(replay.requeues),
        "audit_entries": audit_total,
        "officer_peak_load_ratio": round(replay.peak_ratio, 2),
        "officer_max_reported_load": max((o.max_load for o in officers), default=0),
        "completed_by_officers": sum(len(o.completed) for o in officers),
        "booth_sessions_ended_unseen": sum(len(b.ended_unseen) for b in booths),
        "client_errors": dict(errors.most_common(12)),
        "violations": problems,
    }


# ---------------------------------------------------------------------------- the run


async def chaos_loop(
    servers: list[ServerProcess], redis: Any, args: argparse.Namespace, rng: random.Random,
    until: float, counts: Counter[str], say: Any,
) -> None:
    redis_at = time.monotonic() + (until - time.monotonic()) * args.redis_restart_at
    while True:
        await asyncio.sleep(args.kill_every * rng.uniform(0.6, 1.4))
        if time.monotonic() >= until:
            return
        if counts["redis_restarts"] == 0 and time.monotonic() >= redis_at:
            say("chaos: SIGKILL redis-server, restart on the same port")
            await asyncio.to_thread(redis.restart, hard=True)
            counts["redis_restarts"] += 1
            continue
        victim = rng.choice(servers)
        say(f"chaos: SIGKILL server {victim.index} (:{victim.port})")
        victim.kill()
        counts["server_kills"] += 1
        await asyncio.sleep(args.restart_after)
        await ensure_running(victim, counts, say)


async def ensure_running(server: ServerProcess, counts: Counter[str], say: Any) -> None:
    for _attempt in range(5):
        if not server.running:
            server.start()
            counts["server_starts"] += 1
        if await server.wait_ready():
            return
        counts["server_start_failures"] += 1
        say(f"server {server.index} did not come up, again (see {server.log_path})")
        server.kill()
        await asyncio.sleep(1.0)
    raise RuntimeError(f"server {server.index} does not start; see {server.log_path}")


def start_balancer(port: int, backends: list[int]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--balancer", str(port), *map(str, backends)],
        start_new_session=True,
    )


async def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    for _ in itertools.count():
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.2)
    return False


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.redis_server import RedisServer, free_port

    rng = random.Random(args.seed)
    workdir = Path(args.workdir)
    started = time.monotonic()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)

    creds = write_config(
        workdir / "chaos.toml", workdir, booths=args.booths, officers=args.officers,
        per_branch=args.booths_per_branch, offer_timeout_s=args.offer_timeout,
        grace_s=args.grace, rng=rng,
    )
    redis = RedisServer(workdir / "redis", persistent=True)
    await asyncio.to_thread(redis.start)
    say(f"redis-server on :{redis.port} (append-only, fsync always); workdir {workdir}")
    servers = [ServerProcess(i, free_port(), workdir / "chaos.toml", redis.url, workdir)
               for i in range(args.servers)]
    balancer: subprocess.Popen[bytes] | None = None
    agents: list[Agent] = []
    counts: Counter[str] = Counter()
    try:
        for server in servers:
            server.start()
        for server in servers:
            if not await server.wait_ready(60):
                raise RuntimeError(f"server {server.index} did not start; see {server.log_path}")
        lb_port = free_port()
        balancer = start_balancer(lb_port, [s.port for s in servers])
        url = f"http://{LOOPBACK}:{lb_port}"
        for _ in range(100):
            with contextlib.suppress(OSError):
                await asyncio.to_thread(urllib.request.urlopen, f"{url}/api/health", None, 1.0)
                break
            await asyncio.sleep(0.1)
        say(f"{args.servers} servers {[s.port for s in servers]} behind :{lb_port}; "
            f"{len(creds.branches)} branches, {args.booths} booths, {args.officers} officers")

        booths = [BoothAgent(url, b, creds.booth_token, random.Random(rng.random()))
                  for b, _branch in creds.booths]
        officers = [OfficerAgent(url, o, creds.password, cap, random.Random(rng.random()))
                    for o, (_branch, cap) in creds.officers.items()]
        agents = [*officers, *booths]
        stop_new, stop = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(a.run(stop_new, stop)) for a in agents]
        await wait_for(lambda: all(a.connected for a in agents), 60)
        say(f"{sum(a.connected for a in agents)}/{len(agents)} clients connected; "
            f"chaos for {args.duration:.0f} s")

        until = time.monotonic() + args.duration
        await chaos_loop(servers, redis, args, rng, until, counts, say)
        for server in servers:
            await ensure_running(server, counts, say)
        say("chaos over; every process up again, waiting for clients to be back")
        await wait_for(lambda: all(a.connected for a in agents), 30)
        stop_new.set()
        await asyncio.sleep(args.settle)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        say("checking the audit log and the clients' records")
        summary = await collect_and_check(redis.url, creds, booths, officers)
        summary.update({
            "servers": args.servers,
            "branches": len(creds.branches),
            "server_kills": counts["server_kills"],
            "server_restarts": counts["server_starts"],
            "server_start_failures": counts["server_start_failures"],
            "redis_restarts": counts["redis_restarts"],
            "duration_s": round(time.monotonic() - started, 1),
            "workdir": str(workdir),
        })
        return summary
    finally:
        await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)
        for server in servers:
            server.stop()
        if balancer is not None:
            balancer.kill()
            balancer.wait()
        await asyncio.to_thread(redis.kill)


def report(summary: dict[str, Any]) -> None:
    rows = [
        ("processes / branches", f"{summary['servers']} / {summary['branches']}"),
        ("server SIGKILLs / restarts", f"{summary['server_kills']} / "
                                       f"{summary['server_restarts']}"),
        ("redis restarts", summary["redis_restarts"]),
        ("clients (booths + officers)", f"{summary['clients']} ({summary['booths']} + "
                                        f"{summary['officers']})"),
        ("clients that lost their connection", summary["clients_dropped"]),
        ("... reconnected by themselves", summary["clients_reconnected"]),
        ("clients connected at the end", summary["clients_connected_at_end"]),
        ("sessions created", summary["sessions_created"]),
        ("sessions ended (by reason)", f"{summary['sessions_ended']} "
                                       f"{summary['ended_by_reason']}"),
        ("sessions live at the end", summary["sessions_live_at_end"]),
        ("sessions lost", summary["sessions_lost"]),
        ("visits recorded", summary["visits_recorded"]),
        ("offers / sessions started", f"{summary['offers']} / {summary['sessions_started']}"),
        ("requeues (by reason)", summary["requeues_by_reason"]),
        ("officer peak load / capacity", summary["officer_peak_load_ratio"]),
        ("audit entries", summary["audit_entries"]),
        ("client errors (top)", summary["client_errors"]),
        ("violations", len(summary["violations"])),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for problem in summary["violations"][:30]:
        print(f"  VIOLATION: {problem}")
    print("RESULT:", "OK" if not summary["violations"] else "FAILED", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=int, default=3)
    p.add_argument("--booths", type=int, default=200)
    p.add_argument("--officers", type=int, default=40)
    p.add_argument("--booths-per-branch", type=int, default=20)
    p.add_argument("--duration", type=float, default=120.0, help="seconds of chaos")
    p.add_argument("--kill-every", type=float, default=8.0, help="mean seconds between faults")
    p.add_argument("--restart-after", type=float, default=1.5,
                   help="seconds a killed server stays down")
    p.add_argument("--redis-restart-at", type=float, default=0.5,
                   help="when Redis is restarted, as a fraction of the duration")
    p.add_argument("--offer-timeout", type=float, default=5.0)
    p.add_argument("--grace", type=float, default=10.0, help="officer and booth grace, seconds")
    p.add_argument("--settle", type=float, default=5.0,
                   help="seconds without new visits before the checks")
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--workdir", help="keep config, logs and redis files here")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--balancer", nargs="+", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.balancer:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_balancer(args.balancer[0], args.balancer[1:]))
        return 0
    if args.workdir is None:
        args.workdir = tempfile.mkdtemp(prefix="lapak-chaos-")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(run(args))
    report(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return 0 if not summary["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
