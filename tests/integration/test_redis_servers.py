"""Two server processes' worth of apps on one real Redis: cross-process pairing and relay,
Redis going away and coming back (empty, too)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from booth_server.transport.app import SERVICE_KEY
from tests.harness import (
    Client,
    RunningServer,
    booth_states,
    clients,
    make_config,
    start_server,
)
from tests.redis_server import RedisServer, redis_server


@pytest.fixture
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def two_servers(tmp_path: Path, redis_srv: RedisServer
                      ) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    cfg = make_config(tmp_path, offer_timeout_s=5.0)
    a = await start_server(cfg, redis_url=redis_srv.url)
    b = await start_server(cfg, redis_url=redis_srv.url)
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


async def test_booth_and_officer_on_different_processes(
    two_servers: tuple[RunningServer, RunningServer],
) -> None:
    a, b = two_servers
    async with clients() as opened:
        officer = await Client.officer(b.url, "cso1")
        booth = await Client.booth(a.url, "langsa-01")
        opened += [officer, booth]
        ready = await booth.call("ready", {"ticket": "R-1"})
        assert ready["ok"], ready
        offer = await officer.next("offer")
        assert offer["session_id"] == ready["session_id"]
        assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
        assigned = await booth.next("assigned")
        assert assigned["officer"]["id"] == "cso1"
        sid = ready["session_id"]
        sent = await booth.call("signal", {"session_id": sid, "candidate": None})
        assert sent["ok"], sent
        assert await officer.next("signal") == {"session_id": sid, "candidate": None}

        # The officer's console reconnects to the other process and gets its session back.
        await officer.close()
        again = await Client.officer(a.url, "cso1")
        opened.append(again)
        state = await again.next("state")
        assert [s["session_id"] for s in state["sessions"]] == [sid]
        async with aiohttp.ClientSession() as http, http.get(f"{a.url}/api/health") as r:
            assert (await r.json())["store"] == "redis"
        # Both processes wrote the branch: how often they got in each other's way is exported.
        conflicts = 0.0
        for server in two_servers:
            async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as r:
                text = await r.text()
            counts = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                      if line.startswith("lapak_store_")}
            store = server.app[SERVICE_KEY].store
            assert counts["lapak_store_conflicts_total"] == getattr(store, "conflicts", None)
            assert counts["lapak_store_lease_waits_total"] == getattr(store, "lease_waits", None)
            conflicts += counts["lapak_store_conflicts_total"]
        assert conflicts > 0, "the processes never met on the branch: a weak test"


async def test_redis_unavailable_is_reported_and_survived(
    tmp_path: Path, redis_srv: RedisServer
) -> None:
    server = await start_server(make_config(tmp_path), redis_url=redis_srv.url)
    try:
        async with clients() as opened, aiohttp.ClientSession() as http:
            booth = await Client.booth(server.url, "langsa-02")
            opened.append(booth)
            redis_srv.pause()
            try:
                loop = asyncio.get_running_loop()
                started = loop.time()
                reply = await booth.call("ready", {}, timeout=10)
                assert reply["ok"] is False and reply["error"]["code"] == "unavailable"
                assert loop.time() - started < 6
                async with http.get(f"{server.url}/api/health") as r:
                    assert r.status == 503
                    assert (await r.json())["store_ok"] is False
                async with http.get(f"{server.url}/metrics") as r:
                    assert "lapak_store_up 0.0" in await r.text()
            finally:
                redis_srv.resume()
            for _ in range(50):
                reply = await booth.call("ready", {})
                if reply["ok"]:
                    break
                await asyncio.sleep(0.2)
            assert reply["ok"], reply
            async with http.get(f"{server.url}/api/health") as r:
                assert r.status == 200
    finally:
        await server.stop()


@pytest.mark.slow
async def test_redis_restarted_empty_reconnects_live_clients(
    tmp_path: Path, redis_srv: RedisServer
) -> None:
    server = await start_server(make_config(tmp_path), redis_url=redis_srv.url)
    try:
        async with clients() as opened:
            booth = await Client.booth(server.url, "langsa-03")
            officer = await Client.officer(server.url, "cso2")
            opened += [booth, officer]
            redis_srv.restart(hard=True)  # no persistence: everything in Redis is gone
            # The presence keeper says again that these sockets are here.
            for _ in range(100):
                reply = await booth.call("ready", {})
                if reply["ok"]:
                    break
                await asyncio.sleep(0.25)
            assert reply["ok"], reply
            offer = await officer.next_matching("offer", timeout=15,
                                                session_id=reply["session_id"])
            assert offer["booth"]["id"] == "langsa-03"
    finally:
        await server.stop()


async def test_ops_on_one_process_see_changes_made_on_another(
    two_servers: tuple[RunningServer, RunningServer],
) -> None:
    """Each process serves its own ops clients; another process's change reaches them through
    the service's once-a-second read of every branch."""
    a, b = two_servers
    async with clients() as opened:
        ops = await Client.ops(b.url)
        opened.append(ops)
        first = await ops.next("occupancy")
        assert {x["state"] for x in first["branches"][0]["booths"]} == {"offline"}
        booth = await Client.booth(a.url, "langsa-05")
        opened.append(booth)
        assert (await booth.call("ready", {}))["ok"]
        update = await ops.occupancy_until("langsa-05", "queued", timeout=4)
        assert booth_states(update)["langsa-05"] == "queued"


async def test_a_deadline_set_on_one_process_fires_on_another(
    tmp_path: Path, redis_srv: RedisServer
) -> None:
    """The offer is made (and its expiry known) on A, whose timer never runs, as if A died
    right after; B learns of the deadline only by reading the branch and expires the offer on
    time all the same."""
    cfg = make_config(tmp_path, offer_timeout_s=3.0)
    a = await start_server(cfg, redis_url=redis_srv.url, run_timers=False)
    b = await start_server(cfg, redis_url=redis_srv.url)
    try:
        async with clients() as opened:
            officer = await Client.officer(b.url, "cso1")
            booth = await Client.booth(a.url, "langsa-06")
            opened += [officer, booth]
            loop = asyncio.get_running_loop()
            ready = await booth.call("ready", {})
            offered_at = loop.time()
            offer = await officer.next("offer")
            assert offer["session_id"] == ready["session_id"]
            withdrawn = await officer.next_matching(
                "offer_withdrawn", timeout=8, session_id=ready["session_id"]
            )
            assert withdrawn["reason"] == "offer_expired"
            # offer_timeout_s is 3; B reads every branch once a second.
            assert loop.time() - offered_at < 3 + 2.0
    finally:
        await a.stop()
        await b.stop()
