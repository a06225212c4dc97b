"""Every malformed payload and wrong credential gets its structured error; others keep going."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from booth_server.security import issue_token
from tests.harness import Client, RunningServer, clients, make_config, start_server

BOOTH_BAD: list[tuple[str, Any, str]] = [
    ("ready", "not an object", "invalid"),
    ("ready", {"priority": 10}, "invalid"),
    ("ready", {"priority": -1}, "invalid"),
    ("ready", {"priority": "high"}, "invalid"),
    ("ready", {"priority": True}, "invalid"),
    ("ready", {"kind": "family"}, "invalid"),
    ("ready", {"ticket": "x" * 33}, "invalid"),
    ("ready", {"tiket": "A1"}, "invalid"),
    ("signal", {}, "invalid"),
    ("signal", {"session_id": "s-1"}, "invalid"),
    ("signal", {"session_id": "s-1", "description": {"type": "pranswer", "sdp": "v=0"}},
     "invalid"),
    ("signal", {"session_id": "s-1", "description": {"type": "offer"}}, "invalid"),
    ("signal", {"session_id": "s-1", "candidate": {"sdpMid": "0"}}, "invalid"),
    ("signal", {"session_id": "s 1!", "candidate": None}, "invalid"),
    ("signal", {"session_id": "s-unknown", "candidate": None}, "not_found"),
    ("signal", {"session_id": "s-1", "description": {"type": "offer", "sdp": "v" * 70_000}},
     "too_large"),
    ("cancel", {}, "invalid"),
    ("cancel", {"session_id": "s-unknown"}, "not_found"),
    ("health", {"camera": "broken"}, "invalid"),
    ("health", {}, "invalid"),
    ("health", [1, 2], "invalid"),
    ("no_such_event", {}, "not_found"),
]

CSO_BAD: list[tuple[str, Any, str]] = [
    ("set_status", {"status": "busy"}, "invalid"),
    ("set_status", {}, "invalid"),
    ("accept", {}, "invalid"),
    ("accept", {"session_id": "s-unknown"}, "not_found"),
    ("decline", {"session_id": 5}, "invalid"),
    ("decline", {"session_id": "s-unknown"}, "not_found"),
    ("signal", {"session_id": "s-unknown", "candidate": None}, "not_found"),
    ("focus", {}, "invalid"),
    ("focus", {"session_id": "s-unknown"}, "not_found"),
    ("request_document", {"session_id": "s-unknown", "kind": "passport"}, "invalid"),
    ("request_document", {"session_id": "s-unknown", "kind": "ktp"}, "not_found"),
    ("review_document", {"document_id": "d-x", "status": "maybe"}, "invalid"),
    ("review_document", {"document_id": "d-x", "status": "approved"}, "not_found"),
    ("complete", {"session_id": "s-unknown", "outcome": "done"}, "invalid"),
    ("complete", {"session_id": "s-unknown", "outcome": "other", "note": "n" * 2001},
     "invalid"),
    ("complete", {"session_id": "s-unknown", "outcome": "other"}, "not_found"),
    ("transfer", {"session_id": "s-unknown", "officer_id": "cso9"}, "not_found"),
    ("whatever", None, "not_found"),
]


async def test_booth_payloads_get_error_acks(server: RunningServer) -> None:
    async with clients() as opened:
        booth = await Client.booth(server.url, "langsa-01")
        opened.append(booth)
        for event, payload, code in BOOTH_BAD:
            reply = await booth.call(event, payload)
            assert reply["ok"] is False, (event, payload, reply)
            assert reply["error"]["code"] == code, (event, payload, reply)
            assert reply["error"]["message"], reply
        # Still connected and served after all of that.
        assert (await booth.call("ready", {}))["ok"] is True


async def test_officer_payloads_get_error_acks(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        opened.append(officer)
        for event, payload, code in CSO_BAD:
            reply = await officer.call(event, payload)
            assert reply["ok"] is False, (event, payload, reply)
            assert reply["error"]["code"] == code, (event, payload, reply)
        assert (await officer.call("set_status", {"status": "paused"}))["ok"] is True


async def test_error_messages_name_the_field(server: RunningServer) -> None:
    async with clients() as opened:
        booth = await Client.booth(server.url, "langsa-01")
        opened.append(booth)
        reply = await booth.call("ready", {"priority": 12})
        assert "priority" in reply["error"]["message"]
        reply = await booth.call("health", {"camera": "x"})
        assert "camera" in reply["error"]["message"]


async def test_oversized_event_is_refused_and_client_stays(server: RunningServer) -> None:
    async with clients() as opened:
        booth = await Client.booth(server.url, "langsa-01")
        opened.append(booth)
        reply = await booth.call("ready", {"ticket": "x" * 300_000})
        assert reply["error"]["code"] == "too_large"
        assert (await booth.call("ready", {}))["ok"] is True


async def test_rate_limit(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    cfg = cfg.model_copy(update={"limits": cfg.limits.model_copy(
        update={"rate_per_s": 1.0, "rate_burst": 5})})
    running = await start_server(cfg)
    try:
        async with clients() as opened:
            booth = await Client.booth(running.url, "langsa-01")
            other = await Client.booth(running.url, "langsa-02")
            opened += [booth, other]
            codes = [(await booth.call("health", {"camera": "ok"})).get("error", {}).get("code")
                     for _ in range(12)]
            assert "rate_limited" in codes
            assert codes[:5] == [None] * 5
            # Another client is not affected.
            assert (await other.call("health", {"camera": "ok"}))["ok"] is True
    finally:
        await running.stop()


async def _refused(url: str, namespace: str, auth: Any) -> dict[str, Any]:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"],
                          wait_timeout=20)
    except socketio.exceptions.ConnectionError as exc:
        data = exc.args[0] if exc.args else None
        return {"refused": True, "data": data}
    finally:
        await sio.disconnect()
    return {"refused": False}


@pytest.mark.parametrize(
    ("namespace", "auth"),
    [
        ("/booth", None),
        ("/booth", {"booth_id": "langsa-01"}),
        ("/booth", {"booth_id": "langsa-01", "token": "wrong"}),
        ("/booth", {"booth_id": "langsa-99", "token": "demo-token-langsa-99"}),
        ("/booth", {"booth_id": "langsa-01", "token": "demo-token-langsa-02"}),
        ("/cso", None),
        ("/cso", {"token": "garbage"}),
        ("/ops", {"token": ""}),
    ],
)
async def test_wrong_credentials_are_refused(
    server: RunningServer, namespace: str, auth: Any
) -> None:
    result = await _refused(server.url, namespace, auth)
    assert result["refused"] is True


async def test_roles_are_checked(server: RunningServer) -> None:
    secret = server.cfg.server.secret.get_secret_value()
    now = time.time()
    ops_token = issue_token(secret, "ops", "ops", 60, now)
    officer_token = issue_token(secret, "cso1", "officer", 60, now)
    expired = issue_token(secret, "cso1", "officer", 1, now - 10)
    forged = issue_token("another-secret-that-is-long-enough", "cso1", "officer", 60, now)
    assert (await _refused(server.url, "/cso", {"token": ops_token}))["refused"]
    assert (await _refused(server.url, "/ops", {"token": officer_token}))["refused"]
    assert (await _refused(server.url, "/cso", {"token": expired}))["refused"]
    assert (await _refused(server.url, "/cso", {"token": forged}))["refused"]
    assert not (await _refused(server.url, "/ops", {"token": ops_token}))["refused"]


async def test_http_errors_are_structured(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/login", data="nope") as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "invalid"
        async with http.post(f"{server.url}/api/login", json={"username": "cso1"}) as r:
            assert r.status == 400
            body = await r.json()
            assert "password" in body["error"]["message"]
        async with http.get(f"{server.url}/api/occupancy",
                            headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
        async with http.get(f"{server.url}/api/documents/d-000000000000000000000000") as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "unauthorized"
        async with http.get(f"{server.url}/api/no-such-thing") as r:
            assert r.status == 404
            assert (await r.json())["error"]["code"] == "not_found"


async def test_login_throttle(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(server.cfg.limits.login_max_failures + 2):
            async with http.post(f"{server.url}/api/login",
                                 json={"username": "cso2", "password": "wrong"}) as r:
                statuses.append(r.status)
        assert statuses[0] == 401
        assert statuses[-1] == 429
        async with http.post(f"{server.url}/api/login",
                             json={"username": "cso2", "password": "demo"}) as r:
            assert r.status == 429
            body = await r.json()
            assert body["error"]["code"] == "rate_limited"
            assert "Retry-After" in r.headers


async def test_login_and_health(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/login",
                             json={"username": "ops", "password": "demo"}) as r:
            body = await r.json()
            assert r.status == 200
            assert body["role"] == "ops" and body["expires_in_s"] > 0
            assert "officer_id" not in body
        async with http.post(f"{server.url}/api/login",
                             json={"username": "cso3", "password": "demo"}) as r:
            body = await r.json()
            assert body["role"] == "officer" and body["officer_id"] == "cso3"
        async with http.get(f"{server.url}/api/health") as r:
            assert await r.json() == {"status": "ok", "store": "memory", "store_ok": True}


async def test_ops_queries_validate_branch(server: RunningServer) -> None:
    from tests.harness import login

    token = await login(server.url, "ops")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        for path in ("/api/visits.csv", "/api/visits", "/api/audit"):
            async with http.get(f"{server.url}{path}?branch=nowhere", headers=headers) as r:
                assert r.status == 400, path
                assert "branch" in (await r.json())["error"]["message"]
            async with http.get(f"{server.url}{path}?branch=langsa", headers=headers) as r:
                assert r.status == 200, path
        async with http.get(f"{server.url}/api/visits?since=yesterday", headers=headers) as r:
            assert r.status == 400
        officer = await login(server.url, "cso1")
        async with http.get(f"{server.url}/api/visits",
                            headers={"Authorization": f"Bearer {officer}"}) as r:
            assert r.status == 403


OPS_BAD: list[tuple[str, Any, str]] = [
    ("set_out_of_service", {}, "invalid"),
    ("set_out_of_service", {"booth_id": "langsa-01", "out_of_service": "yes"}, "invalid"),
    ("set_out_of_service", {"booth_id": "langsa-99", "out_of_service": True}, "not_found"),
    ("set_officer_status", {"officer_id": "cso1", "status": "asleep"}, "invalid"),
    ("set_officer_status", {"officer_id": "nobody", "status": "paused"}, "not_found"),
    ("get_occupancy", "x", "invalid"),
    ("no_such_event", {}, "not_found"),
]


async def test_ops_payloads_get_error_acks(server: RunningServer) -> None:
    async with clients() as opened:
        ops = await Client.ops(server.url)
        opened.append(ops)
        for event, payload, code in OPS_BAD:
            reply = await ops.call(event, payload)
            assert reply["ok"] is False, (event, payload, reply)
            assert reply["error"]["code"] == code, (event, payload, reply)
        assert (await ops.call("get_occupancy", {}))["ok"] is True
