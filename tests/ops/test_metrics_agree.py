"""`/metrics`, parsed by prometheus_client's own parser, agrees with `/api/occupancy`."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from booth_server.stats import current_factor
from tests.harness import Client, clients, login, make_config, start_server


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_metrics_agree_with_occupancy(tmp_path: Path) -> None:
    server = await start_server(make_config(tmp_path))  # default 15 s offers: one stays pending
    try:
        async with clients() as opened:
            cso1 = await Client.officer(server.url, "cso1")
            ops = await Client.ops(server.url)
            opened += [cso1, ops]
            booths = {n: await Client.booth(server.url, f"langsa-{n:02d}") for n in range(1, 7)}
            opened += booths.values()
            live = []
            for n in (1, 6):
                ready = await booths[n].call("ready", {"ticket": f"A-{n}"})
                offer = await cso1.next_matching("offer", session_id=ready["session_id"])
                assert (await cso1.call("accept", {"session_id": offer["session_id"]}))["ok"]
                live.append(ready["session_id"])
            done = await cso1.call("complete", {"session_id": live[1],
                                                "outcome": "claim_submitted"})
            assert done["ok"], done
            cso2 = await Client.officer(server.url, "cso2")
            opened.append(cso2)
            ready2 = await booths[2].call("ready", {})
            await cso2.next_matching("offer", session_id=ready2["session_id"])  # left pending
            assert (await ops.call("set_officer_status",
                                   {"officer_id": "cso2", "status": "paused"}))["ok"]
            assert (await booths[3].call("health", {"camera": "fault"}))["ok"]
            assert (await booths[3].call("ready", {}))["ok"]  # faulty: waits in the queue
            assert (await ops.call("set_out_of_service", {"booth_id": "langsa-04",
                                                          "out_of_service": True,
                                                          "reason": "cleaning"}))["ok"]
            ready5 = await booths[5].call("ready", {})
            assert (await booths[5].call("cancel", {"session_id": ready5["session_id"]}))["ok"]
            await asyncio.sleep(0.2)
            token = await login(server.url, "ops")
            async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {token}"}
            ) as http:
                async with http.get(server.url + "/api/occupancy") as response:
                    occupancy: dict[str, Any] = await response.json()
                async with http.get(server.url + "/metrics") as response:
                    text = await response.text()
                async with http.get(server.url + "/api/visits") as response:
                    visits = (await response.json())["visits"]
    finally:
        await server.stop()

    found = samples(text)
    branch = occupancy["branches"][0]
    bid = branch["id"]
    states = Counter(b["state"] for b in branch["booths"])
    assert states == {"in_session": 1, "offered": 1, "queued": 1, "out_of_service": 1,
                      "idle": 2, "offline": 6}
    for state in ("offline", "idle", "queued", "offered", "in_session", "out_of_service"):
        assert value(found, "lapak_booths", branch=bid, state=state) == states.get(state, 0)
    statuses = Counter(o["status"] for o in branch["officers"])
    assert statuses == {"available": 1, "paused": 1, "offline": 1}
    for status in ("offline", "available", "paused", "not_responding"):
        assert value(found, "lapak_officers", branch=bid, status=status) == statuses.get(status, 0)
    for officer in branch["officers"]:
        assert value(found, "lapak_officer_load", branch=bid, officer=officer["id"]) == \
            officer["load"]
        assert value(found, "lapak_officer_capacity", branch=bid, officer=officer["id"]) == \
            officer["capacity"]
    assert {o["id"]: o["load"] for o in branch["officers"]} == {"cso1": 1, "cso2": 1, "cso3": 0}
    assert value(found, "lapak_queue_length", branch=bid) == branch["queue"]["length"] == 1
    assert value(found, "lapak_queue_oldest_wait_seconds", branch=bid) >= 0
    assert value(found, "lapak_sessions_live", branch=bid) == states["in_session"]
    assert value(found, "lapak_one_to_many_current", branch=bid) == current_factor(branch) == 1.0
    # Finished visits: counters by outcome (or end reason) and the two histograms.
    by_outcome = Counter(v["outcome"] or v["reason"] for v in visits)
    assert by_outcome == {"claim_submitted": 1, "cancelled": 1}
    for outcome, count in by_outcome.items():
        assert value(found, "lapak_visits_total", branch=bid, outcome=outcome) == count
    started = [v for v in visits if v["started_at"] is not None]
    assert value(found, "lapak_waiting_time_seconds_count", branch=bid) == len(started)
    assert value(found, "lapak_handling_time_seconds_count", branch=bid) == len(started)
    assert abs(value(found, "lapak_handling_time_seconds_sum", branch=bid)
               - sum(v["handle_s"] for v in started)) < 1e-6
    assert value(found, "lapak_store_up") == 1
