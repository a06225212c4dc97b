"""Today's figures come from the shared store: two server processes on one Redis answer the
same, and a process started after the visits still knows them."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest

from booth_server.store.redis_store import RedisStore
from tests.harness import Client, clients, login, make_config, start_server
from tests.redis_server import available, redis_server

pytestmark = pytest.mark.redis


async def stats(url: str) -> dict[str, object]:
    token = await login(url, "ops")
    async with aiohttp.ClientSession() as http, http.get(
        url + "/api/stats", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        body: dict[str, object] = await response.json()
        return body


async def test_stats_across_processes_and_restarts(tmp_path: Path) -> None:
    if not available():
        pytest.skip("redis-server is not installed")
    cfg = make_config(tmp_path)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    with redis_server() as redis:
        first = await start_server(cfg, store=RedisStore(redis.url, prefix=prefix),
                                   redis_url=redis.url)
        second = await start_server(cfg, store=RedisStore(redis.url, prefix=prefix),
                                    redis_url=redis.url)
        try:
            async with clients() as opened:
                officer = await Client.officer(first.url, "cso1")
                booth = await Client.booth(second.url, "langsa-01")
                opened += [officer, booth]
                ready = await booth.call("ready", {})
                offer = await officer.next_matching("offer", session_id=ready["session_id"])
                assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
                done = await officer.call("complete", {"session_id": ready["session_id"],
                                                       "outcome": "claim_submitted"})
                assert done["ok"], done
            a, b = await stats(first.url), await stats(second.url)
            assert a["totals"] == b["totals"]
            assert a["totals"]["visits_completed"] == 1  # type: ignore[index]
        finally:
            await first.stop()
            await second.stop()
        third = await start_server(cfg, store=RedisStore(redis.url, prefix=prefix),
                                   redis_url=redis.url)
        try:
            c = await stats(third.url)
        finally:
            await third.stop()
    totals = c["totals"]
    assert totals["visits_completed"] == 1 and totals["claims_submitted"] == 1  # type: ignore[index]
    assert totals["one_to_many_factor"] == a["totals"]["one_to_many_factor"]  # type: ignore[index]
    assert max(c["series"]["in_session"]) == 1  # type: ignore[index]
