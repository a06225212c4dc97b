"""The simulator and the live server produce the same assignments for the same events.

A simulated day is recorded as a trace; the same event sequence is then sent to the real
server (aiohttp + python-socketio, in-memory store) by real Socket.IO clients and HTTP
uploads, with the server's clock set to each event's time. Every offer and session start the
officers receive must be the one the simulator's dispatcher produced, in the same order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import numpy as np

from booth_server.config import AppConfig, load_config, parse_config
from booth_server.core import events as ev
from booth_server.security import hash_secret
from booth_server.simulate.engine import simulate
from booth_server.simulate.params import Duration, OfficerBehaviour, Scenario
from booth_server.simulate.trace import BranchSpec, TraceEntry
from booth_server.transport.app import SERVICE_KEY
from tests.harness import Client, login, start_server

TOKEN = "replay-booth-token"
PASSWORD = "replay-password"

# A few officers slow to answer: the trace holds expired offers and requeues, not only the
# happy path.
SCENARIO = Scenario(
    officers=2,
    capacity=3,
    hours=1.5,
    officer=OfficerBehaviour(reaction=Duration(dist="lognormal", mean=8.0, cv=0.8)),
)


def _config(spec: BranchSpec, tmp_path: Path) -> AppConfig:
    base = load_config(Path("config/default.toml"), env={})
    token_hash, password_hash = hash_secret(TOKEN), hash_secret(PASSWORD)
    data: dict[str, Any] = {
        "server": {"secret": "replay-secret-for-tests-only"},
        "dispatch": {
            "offer_timeout_s": spec.policy.offer_timeout_s,
            "officer_grace_s": spec.policy.officer_grace_s,
            "booth_grace_s": spec.policy.booth_grace_s,
        },
        "limits": {"rate_per_s": 1000.0, "rate_burst": 2000},
        "documents": {"key": base.documents.key.get_secret_value(),
                      "storage_dir": str(tmp_path / "docs")},
        "branches": [{"id": spec.id.lower(), "name": spec.name}],
        "booths": [{"id": b.lower(), "branch": spec.id.lower(), "label": label,
                    "token_hash": token_hash} for b, label in spec.booths],
        "users": [{"id": o.lower(), "name": name, "branch": spec.id.lower(),
                   "capacity": cap, "auto_accept": auto, "password_hash": password_hash}
                  for o, name, cap, auto in spec.officers],
    }
    return parse_config(data, env={})


def _jpeg() -> bytes:
    image = np.full((200, 320, 3), 180, np.uint8)
    cv2.rectangle(image, (20, 20), (300, 180), (40, 80, 160), 4)
    return cv2.imencode(".jpg", image)[1].tobytes()


class LiveReplay:
    def __init__(self, url: str, clock: list[float]) -> None:
        self.url = url
        self.clock = clock
        self.booths: dict[str, Client] = {}
        self.officers: dict[str, Client] = {}
        self.officer_history: list[tuple[str, Client]] = []
        self.sessions: dict[str, str] = {}  # simulator session id → server session id
        self.documents: dict[str, str] = {}
        self.http = aiohttp.ClientSession()

    def sid(self, sim_id: str) -> str:
        return self.sessions.get(sim_id, sim_id)

    async def send(self, entry: TraceEntry) -> dict[str, Any] | None:
        """Send one recorded event the way a real client would; the ack (None for
        connections)."""
        e = entry.event
        if isinstance(e, ev.BoothConnected):
            self.booths[e.booth_id] = await Client.booth(self.url, e.booth_id.lower(), TOKEN)
            return None
        if isinstance(e, ev.OfficerConnected):
            client = Client("/cso", {"token": await login(self.url, e.officer_id.lower(),
                                                          PASSWORD)})
            await client.connect(self.url)
            self.officers[e.officer_id] = client
            self.officer_history.append((e.officer_id.lower(), client))
            return None
        if isinstance(e, ev.BoothDisconnected):
            await self.booths.pop(e.booth_id).close()
            return None
        if isinstance(e, ev.OfficerDisconnected):
            await self.officers.pop(e.officer_id).close()
            return None
        if isinstance(e, ev.BoothReady):
            payload: dict[str, Any] = {"kind": e.kind, "priority": e.priority}
            if e.ticket is not None:
                payload["ticket"] = e.ticket
            ack = await self.booths[e.booth_id].call("ready", payload)
            if ack.get("ok"):
                self.sessions.setdefault(e.session_id, ack["session_id"])
            return ack
        if isinstance(e, ev.BoothCancel):
            return await self.booths[e.booth_id].call(
                "cancel", {"session_id": self.sid(e.session_id)})
        if isinstance(e, ev.DocumentUploaded):
            return await self._upload(e)
        officer = self.officers[getattr(e, "officer_id", "")] if hasattr(e, "officer_id") \
            else None
        assert officer is not None, e
        if isinstance(e, ev.SetStatus):
            return await officer.call("set_status", {"status": e.status})
        if isinstance(e, ev.Accept):
            return await officer.call("accept", {"session_id": self.sid(e.session_id)})
        if isinstance(e, ev.Decline):
            return await officer.call("decline", {"session_id": self.sid(e.session_id)})
        if isinstance(e, ev.Focus):
            return await officer.call(
                "focus", {"session_id": None if e.session_id is None
                          else self.sid(e.session_id)})
        if isinstance(e, ev.RequestDocument):
            return await officer.call("request_document",
                                      {"session_id": self.sid(e.session_id), "kind": e.kind})
        if isinstance(e, ev.ReviewDocument):
            payload = {"document_id": self.documents[e.document_id], "status": e.status}
            if e.reason:
                payload["reason"] = e.reason
            return await officer.call("review_document", payload)
        if isinstance(e, ev.Complete):
            payload = {"session_id": self.sid(e.session_id), "outcome": e.outcome}
            return await officer.call("complete", payload)
        if isinstance(e, ev.Transfer):
            payload = {"session_id": self.sid(e.session_id)}
            if e.target_officer_id:
                payload["officer_id"] = e.target_officer_id.lower()
            return await officer.call("transfer", payload)
        raise AssertionError(f"no wire form for {e!r}")

    async def _upload(self, e: ev.DocumentUploaded) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Booth-Id": e.booth_id.lower(),
                   "Content-Type": "image/jpeg"}
        async with self.http.post(
            f"{self.url}/api/sessions/{self.sid(e.session_id)}/documents?kind={e.kind}",
            data=_jpeg(), headers=headers,
        ) as response:
            body = await response.json()
        if response.status == 201:
            self.documents[e.document_id] = body["document_id"]
            return {"ok": True}
        return {"ok": False, "error": body["error"]}

    async def close(self) -> None:
        for client in [*self.booths.values(), *(c for _, c in self.officer_history)]:
            await client.close()
        await self.http.close()


async def test_live_server_makes_the_simulators_assignments(tmp_path: Path) -> None:
    run = simulate(SCENARIO, seed=5, record_trace=True)
    assert run.trace is not None
    spec = run.trace.branch
    entries = run.trace.entries
    assert any(isinstance(e.event, ev.Tick) and e.result and e.result.audit for e in entries)
    expected = [(booth, officer, kind)
                for e in entries if e.result
                for booth, officer, kind in _booth_assignments(e, spec)]
    assert len(expected) > 20

    clock = [entries[0].now]
    server = await start_server(_config(spec, tmp_path), clock=lambda: clock[0],
                                run_timers=False)
    replay = LiveReplay(server.url, clock)
    service = server.app[SERVICE_KEY]
    branch_id = spec.id.lower()
    try:
        for entry in entries:
            clock[0] = entry.now
            if isinstance(entry.event, ev.Tick):
                # Timers are the server's own clock: here the trace's time drives them.
                await service.apply(branch_id, ev.Tick())
                continue
            ack = await replay.send(entry)
            if ack is not None:
                assert ack.get("ok") is (entry.error is None), (entry, ack)
        # Globally, in the server's own order (its audit log) ...
        audit = await service.store.audit(branch_id, limit=0)
        live = [(a.booth_id or "", a.officer_id or "",
                 "offer" if a.event == "offered" else "session_started")
                for a in audit if a.event in ("offered", "session_started")]
        assert live == expected
        # ... and as each officer's console received them (let the last emits land).
        await asyncio.sleep(0.5)
        received: dict[str, list[tuple[str, str]]] = {}
        for officer_id, client in replay.officer_history:
            for event, data in client.log:
                if event in ("offer", "session_started"):
                    received.setdefault(officer_id, []).append((data["booth"]["id"], event))
        assert received == _per_officer(expected)
    finally:
        await replay.close()
        await server.stop()


def _booth_assignments(entry: TraceEntry, spec: BranchSpec) -> list[tuple[str, str, str]]:
    assert entry.result is not None
    out = []
    for message in entry.result.outbound:
        if message.role == "officer" and message.event in ("offer", "session_started"):
            out.append((message.data["booth"]["id"].lower(), message.to.lower(),
                        message.event))
    return out


def _per_officer(items: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for booth, officer, kind in items:
        out.setdefault(officer, []).append((booth, kind))
    return out
