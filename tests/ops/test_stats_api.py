"""`GET /api/stats` and the `/ops` `alerts` push through the real server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from booth_server.transport.app import SERVICE_KEY
from tests.harness import Client, RunningServer, clients, login, start_server
from tests.ops.conftest import two_branch_config


async def get(server: RunningServer, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(server.url + path,
                                                         headers=headers) as response:
        return response.status, await response.json()


BAD_QUERIES = [
    "since=abc", "since=nan", "since=inf", f"since={time.time() + 3600:.0f}", "since=0",
    "since=", "branch=nowhere", "branch=" + "x" * 100, "branch=", "step=1", "step=99999",
    "step=x", "bogus=1",
]


async def test_bad_parameters_are_400_invalid(server: RunningServer) -> None:
    token = await login(server.url, "ops")
    for query in BAD_QUERIES:
        status, body = await get(server, f"/api/stats?{query}", token)
        assert status == 400, (query, body)
        assert body["error"]["code"] == "invalid" and body["error"]["message"], query


async def test_roles(server: RunningServer) -> None:
    status, body = await get(server, "/api/stats", None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await get(server, "/api/stats", "not-a-token")
    assert status == 401
    status, body = await get(server, "/api/stats", await login(server.url, "cso1"))
    assert status == 403 and body["error"]["code"] == "forbidden"


async def test_figures_after_a_scripted_day(server: RunningServer) -> None:
    token = await login(server.url, "ops")
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        b1 = await Client.booth(server.url, "langsa-01")
        b2 = await Client.booth(server.url, "langsa-02")
        opened += [officer, b1, b2]
        sessions = []
        for booth in (b1, b2):
            ready = await booth.call("ready", {"ticket": "T"})
            offer = await officer.next_matching("offer", session_id=ready["session_id"])
            assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
            sessions.append(ready["session_id"])
        await asyncio.sleep(0.3)
        status, live = await get(server, "/api/stats?branch=langsa", token)
        assert status == 200, live
        assert live["branch"] == "langsa" and live["series"]["in_session"][-1] == 2
        assert live["totals"]["visits_completed"] == 0
        assert live["totals"]["one_to_many_factor"] > 0
        for sid, outcome in zip(sessions, ("claim_submitted", "referred"), strict=True):
            assert (await officer.call("complete", {"session_id": sid, "outcome": outcome}))["ok"]
        status, body = await get(server, "/api/stats", token)
        assert status == 200
    assert body["branch"] == "all" and [b["id"] for b in body["branches"]] == ["langsa"]
    totals = body["totals"]
    assert totals["visits_completed"] == 2 and totals["claims_submitted"] == 1
    assert totals["outcomes"] == {"claim_submitted": 1, "referred": 1}
    assert totals["wait_median_s"] is not None and totals["wait_p95_s"] >= totals["wait_median_s"]
    assert totals["handle_median_s"] >= 0.3
    # Never more than two live sessions, and some working time with fewer.
    assert 0.0 < totals["one_to_many_factor"] < 2.0
    assert totals["claims_per_officer_hour"] > 0
    cso1 = next(o for o in body["branches"][0]["officers"] if o["id"] == "cso1")
    assert cso1["visits_completed"] == 2 and cso1["working_s"] > 0
    series = body["series"]
    assert series["step_s"] == 60 and len(series["at"]) == len(series["queue"])
    assert max(series["in_session"]) == 2  # the peak of this minute
    assert body["thresholds"]["wait_alert_s"] == 1.0
    # The window is explicit, so an earlier `since` only adds empty minutes.
    since = body["since"] - 600
    status, older = await get(server, f"/api/stats?since={since}&step=120", token)
    assert status == 200 and older["since"] == since and older["series"]["step_s"] == 120
    assert older["totals"]["visits_completed"] == 2


async def test_alerts_in_stats_and_pushed_to_ops(server: RunningServer) -> None:
    token = await login(server.url, "ops")
    async with clients() as opened:
        ops = await Client.ops(server.url)
        booth = await Client.booth(server.url, "langsa-03")
        opened += [ops, booth]
        assert (await booth.call("ready", {"ticket": "W-1"}))["ok"]  # nobody to serve it

        def long_wait(body: dict[str, Any]) -> bool:
            return any(a["kind"] == "long_wait" and a["booth_id"] == "langsa-03"
                       for a in body["alerts"])

        pushed = await ops.next("alerts", timeout=10)
        while not long_wait(pushed):
            pushed = await ops.next("alerts", timeout=10)
        status, body = await get(server, "/api/stats", token)
        assert status == 200 and long_wait(body)
        offline = {a["booth_id"] for a in body["alerts"] if a["kind"] == "booth_offline"}
        assert "langsa-04" in offline and "langsa-03" not in offline
        await booth.close()
        pushed = await ops.next("alerts", timeout=10)
        while not any(a["kind"] == "booth_offline" and a["booth_id"] == "langsa-03"
                      and a["severity"] == "critical" for a in pushed["alerts"]):
            pushed = await ops.next("alerts", timeout=10)


async def test_branches_aggregate_and_switch(tmp_path: Path) -> None:
    server = await start_server(two_branch_config(tmp_path))
    try:
        async with clients() as opened:
            for officer_name, booth_id in (("cso1", "langsa-01"), ("kcso1", "kuala-01")):
                officer = await Client.officer(server.url, officer_name)
                booth = await Client.booth(server.url, booth_id, "demo-token-langsa-01")
                opened += [officer, booth]
                ready = await booth.call("ready", {})
                offer = await officer.next_matching("offer", session_id=ready["session_id"])
                assert offer["booth"]["branch"] == booth_id.split("-")[0]
                assert (await officer.call("accept", {"session_id": ready["session_id"]}))["ok"]
                done = await officer.call("complete", {"session_id": ready["session_id"],
                                                       "outcome": "claim_submitted"})
                assert done["ok"], done
        token = await login(server.url, "ops")
        status, both = await get(server, "/api/stats?branch=all", token)
        assert status == 200
        assert [b["id"] for b in both["branches"]] == ["langsa", "kuala"]
        assert both["totals"]["visits_completed"] == 2
        assert [b["figures"]["visits_completed"] for b in both["branches"]] == [1, 1]
        assert both["totals"]["working_officer_hours"] == pytest.approx(
            sum(b["figures"]["working_officer_hours"] for b in both["branches"]), abs=0.002)
        assert max(both["series"]["in_session"]) >= 1
        status, one = await get(server, "/api/stats?branch=kuala", token)
        assert status == 200 and one["branch"] == "kuala"
        assert [b["id"] for b in one["branches"]] == ["kuala"]
        assert one["totals"]["visits_completed"] == 1
        assert [o["id"] for o in one["branches"][0]["officers"]] == ["kcso1"]
        # An ops user bound to a branch sees that branch only.
        local = await login(server.url, "ops-kuala")
        status, mine = await get(server, "/api/stats", local)
        assert status == 200 and mine["branch"] == "kuala" and len(mine["branches"]) == 1
        assert all(a["branch"] in ("kuala", "*") for a in mine["alerts"])
        status, body = await get(server, "/api/stats?branch=langsa", local)
        assert status == 403 and body["error"]["code"] == "forbidden"
    finally:
        await server.stop()


async def test_store_down_is_a_critical_alert(server: RunningServer) -> None:
    service = server.app[SERVICE_KEY]

    async def down() -> bool:
        return False

    async with clients() as opened:
        ops = await Client.ops(server.url)
        opened.append(ops)
        service.store.healthy = down  # type: ignore[method-assign]
        pushed = await ops.next("alerts", timeout=10)
        while not pushed["alerts"] or pushed["alerts"][0]["kind"] != "store_unavailable":
            pushed = await ops.next("alerts", timeout=10)
        assert pushed["alerts"][0]["severity"] == "critical"
        assert [a["kind"] for a in pushed["alerts"]] == ["store_unavailable"]
