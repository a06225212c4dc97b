"""The server end to end with real Socket.IO clients: pairing, capacity, timeouts, loss."""

from __future__ import annotations

import asyncio

from tests.harness import Client, RunningServer, booth_states, clients, login

OFFER_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def _pair(booth: Client, officer: Client) -> str:
    ready = await booth.call("ready", {"ticket": "A-001"})
    assert ready["ok"] is True, ready
    offer = await officer.next_matching("offer", session_id=ready["session_id"])
    assert offer["booth"]["id"] == booth.auth["booth_id"]
    accepted = await officer.call("accept", {"session_id": offer["session_id"]})
    assert accepted["ok"] is True, accepted
    return str(offer["session_id"])


async def test_pairing_and_signal_relay(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [officer, booth]
        state = await officer.next("state")
        assert state["officer"]["id"] == "cso1"
        assert state["officer"]["capacity"] == 5
        assert state["sessions"] == []

        ready = await booth.call("ready", {"ticket": "A-001", "priority": 0})
        assert ready["ok"] is True and ready["position"] in (0, 1)
        offer = await officer.next("offer")
        assert offer["session_id"] == ready["session_id"]
        assert offer["booth"] == {"id": "langsa-01", "label": offer["booth"]["label"],
                                  "branch": "langsa"}
        assert offer["ticket"] == "A-001" and offer["kind"] == "individual"
        assert 0 < offer["expires_in_s"] <= 1.0

        assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
        assigned = await booth.next("assigned")
        assert assigned["session_id"] == ready["session_id"]
        assert assigned["officer"] == {"id": "cso1", "name": assigned["officer"]["name"]}
        assert isinstance(assigned["ice_servers"], list)
        started = await officer.next("session_started")
        assert started["session_id"] == ready["session_id"]
        assert started["booth"]["id"] == "langsa-01"
        assert isinstance(started["ice_servers"], list)

        sid = ready["session_id"]
        sent = await booth.call(
            "signal", {"session_id": sid, "description": {"type": "offer", "sdp": OFFER_SDP}}
        )
        assert sent == {"ok": True}
        relayed = await officer.next("signal")
        assert relayed == {"session_id": sid, "description": {"type": "offer", "sdp": OFFER_SDP}}
        candidate = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
                     "sdpMid": "0", "sdpMLineIndex": 0}
        assert (await officer.call("signal", {"session_id": sid, "candidate": candidate}))["ok"]
        assert (await booth.next("signal")) == {"session_id": sid, "candidate": candidate}
        assert (await booth.call("signal", {"session_id": sid, "candidate": None}))["ok"]
        assert (await officer.next("signal")) == {"session_id": sid, "candidate": None}

        assert (await officer.call("focus", {"session_id": sid}))["ok"]
        assert await booth.next("focus") == {"session_id": sid, "focused": True}

        done = await officer.call("complete", {"session_id": sid, "outcome": "claim_submitted"})
        assert done["ok"] is True
        ended = await booth.next("session_ended")
        assert ended["session_id"] == sid and ended["reason"] == "completed"
        assert (await officer.next("session_ended"))["session_id"] == sid


async def test_capacity_limit_sixth_booth_waits(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        opened.append(officer)
        booths = [await Client.booth(server.url, f"langsa-{i:02d}") for i in range(1, 7)]
        opened += booths
        sessions = []
        for booth in booths:
            reply = await booth.call("ready", {})
            assert reply["ok"], reply
            sessions.append(reply["session_id"])
        offers = [await officer.next("offer") for _ in range(5)]
        assert {o["session_id"] for o in offers} == set(sessions[:5])
        # The sixth waits: the five offers are reservations against capacity 5.
        assert await officer.quiet("offer", 0.4)
        queued = await booths[5].next_matching("queued", session_id=sessions[5])
        assert queued["position"] == 1
        for offer in offers:
            assert (await officer.call("accept", {"session_id": offer["session_id"]}))["ok"]
        assert await officer.quiet("offer", 0.3)
        done = await officer.call("complete", {"session_id": sessions[0],
                                               "outcome": "referred"})
        assert done["ok"], done
        sixth = await officer.next("offer")
        assert sixth["session_id"] == sessions[5]


async def test_offer_timeout_requeues_at_original_position(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        a, b, c = [await Client.booth(server.url, f"langsa-0{i}") for i in (1, 2, 3)]
        opened += [officer, a, b, c]
        first = await a.call("ready", {})
        offer = await officer.next("offer")
        assert offer["session_id"] == first["session_id"]
        assert (await officer.call("set_status", {"status": "paused"}))["ok"]
        second = await b.call("ready", {})
        third = await c.call("ready", {})
        assert second["position"] == 1 and third["position"] == 2
        withdrawn = await officer.next("offer_withdrawn", timeout=3)
        assert withdrawn == {"session_id": first["session_id"], "reason": "offer_expired"}
        back = await a.next_matching("queued", session_id=first["session_id"], timeout=3)
        assert back["position"] == 1
        moved = await b.next_matching("queued", session_id=second["session_id"], position=2)
        assert moved["position"] == 2

        # A paused officer keeps paused; a second officer now gets the first booth first.
        other = await Client.officer(server.url, "cso2")
        opened.append(other)
        got = await other.next("offer")
        assert got["session_id"] == first["session_id"]


async def test_missed_offer_marks_officer_not_responding(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [officer, booth]
        ready = await booth.call("ready", {})
        await officer.next("offer")
        await officer.next("offer_withdrawn", timeout=3)
        state = await officer.call("get_state")
        assert state["officer"]["status"] == "not_responding"
        # No new offers while not responding, until the officer acts.
        assert await officer.quiet("offer", 1.3)
        assert (await officer.call("set_status", {"status": "available"}))["ok"]
        again = await officer.next("offer")
        assert again["session_id"] == ready["session_id"]


async def test_decline_goes_to_another_officer(server: RunningServer) -> None:
    async with clients() as opened:
        cso1 = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [cso1, booth]
        ready = await booth.call("ready", {})
        await cso1.next("offer")
        cso2 = await Client.officer(server.url, "cso2")
        opened.append(cso2)
        declined = await cso1.call("decline", {"session_id": ready["session_id"],
                                               "reason": "busy"})
        assert declined["ok"], declined
        offer = await cso2.next("offer")
        assert offer["session_id"] == ready["session_id"]


async def test_officer_loss_and_return(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [officer, booth]
        sid = await _pair(booth, officer)
        await booth.next("assigned")

        # Reload inside the grace period: everything comes back.
        await officer.close()
        await asyncio.sleep(0.3)
        back = await Client.officer(server.url, "cso1")
        opened.append(back)
        state = await back.next("state")
        assert [s["session_id"] for s in state["sessions"]] == [sid]
        assert isinstance(state["sessions"][0]["ice_servers"], list)
        resumed = await booth.next("assigned")
        assert resumed["session_id"] == sid and resumed.get("resumed") is True

        # Gone for longer than the grace period: the booth is requeued at the front.
        queued_before = await Client.booth(server.url, "langsa-02")
        opened.append(queued_before)
        other_sid = (await queued_before.call("ready", {}))["session_id"]
        await back.next_matching("offer", session_id=other_sid)
        await back.close()
        requeued = await booth.next_matching("queued", session_id=sid, timeout=4)
        assert requeued["position"] == 1
        cso2 = await Client.officer(server.url, "cso2")
        opened.append(cso2)
        first_offer = await cso2.next("offer")
        assert first_offer["session_id"] == sid


async def test_booth_loss_and_return(server: RunningServer) -> None:
    async with clients() as opened:
        officer = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [officer, booth]
        sid = await _pair(booth, officer)
        await booth.close()
        await asyncio.sleep(0.3)
        again = await Client.booth(server.url, "langsa-01")
        opened.append(again)
        resumed = await again.next("assigned")
        assert resumed["session_id"] == sid and resumed["resumed"] is True
        assert (await again.call("ready", {}))["session_id"] == sid

        await again.close()
        ended = await officer.next("session_ended", timeout=4)
        assert ended == {"session_id": sid, "reason": "booth_lost", "outcome": None}


async def test_relay_isolation(server: RunningServer) -> None:
    async with clients() as opened:
        cso1 = await Client.officer(server.url, "cso1")
        mine = await Client.booth(server.url, "langsa-01")
        opened += [cso1, mine]
        sid = await _pair(mine, cso1)
        await mine.next("assigned")
        cso2 = await Client.officer(server.url, "cso2")
        intruder = await Client.booth(server.url, "langsa-02")
        opened += [cso2, intruder]
        bad = {"session_id": sid, "description": {"type": "offer", "sdp": OFFER_SDP}}
        refused = await intruder.call("signal", bad)
        assert refused["ok"] is False and refused["error"]["code"] == "not_found"
        answer = {"session_id": sid, "description": {"type": "answer", "sdp": OFFER_SDP}}
        refused = await cso2.call("signal", answer)
        assert refused["ok"] is False and refused["error"]["code"] == "not_found"
        for event in ("accept", "complete", "focus", "request_document", "transfer"):
            payload = {"session_id": sid, "outcome": "other", "kind": "ktp"}
            payload = {k: v for k, v in payload.items()
                       if k == "session_id" or (event, k) in {("complete", "outcome"),
                                                              ("request_document", "kind")}}
            reply = await cso2.call(event, payload)
            assert reply["ok"] is False, (event, reply)
            assert reply["error"]["code"] == "not_found", (event, reply)
        cancel = await intruder.call("cancel", {"session_id": sid})
        assert cancel["error"]["code"] == "not_found"
        # Nothing leaked to the parties, and nothing reached the outsiders.
        assert await cso1.quiet("signal", 0.3)
        assert await mine.quiet("signal", 0.1)
        assert not intruder.log or all(e != "signal" for e, _ in intruder.log)
        assert all(e not in ("signal", "session_started") for e, _ in cso2.log)


async def test_transfer_to_another_officer(server: RunningServer) -> None:
    async with clients() as opened:
        cso1 = await Client.officer(server.url, "cso1")
        booth = await Client.booth(server.url, "langsa-01")
        opened += [cso1, booth]
        sid = await _pair(booth, cso1)
        await booth.next("assigned")
        cso2 = await Client.officer(server.url, "cso2")
        opened.append(cso2)
        await cso2.next("state")
        reply = await cso1.call("transfer", {"session_id": sid, "officer_id": "cso2"})
        assert reply["ok"], reply
        assert (await cso1.next("session_ended")) == {"session_id": sid,
                                                      "reason": "transferred"}
        assert (await cso2.next("session_started"))["session_id"] == sid
        moved = await booth.next("assigned")
        assert moved["officer"]["id"] == "cso2"


async def test_occupancy_and_ops_live_updates(server: RunningServer) -> None:
    async with clients() as opened:
        ops = await Client.ops(server.url)
        opened.append(ops)
        first = await ops.next("occupancy")
        branch = first["branches"][0]
        assert branch["id"] == "langsa" and len(branch["booths"]) == 12
        assert {b["state"] for b in branch["booths"]} == {"offline"}
        booth = await Client.booth(server.url, "langsa-03")
        opened.append(booth)
        await booth.call("ready", {})
        update = await ops.occupancy_until("langsa-03", "queued", timeout=3)
        assert booth_states(update)["langsa-03"] == "queued"
        assert update["branches"][0]["queue"]["length"] == 1

        token = await login(server.url, "cso1")
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/occupancy",
                                headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                body = await response.json()
            assert body["branches"][0]["queue"]["length"] == 1
            assert isinstance(body["generated_at"], float)
            async with http.get(f"{server.url}/api/occupancy") as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] == "unauthorized"


async def test_out_of_service_booth_is_not_routed(server: RunningServer) -> None:
    async with clients() as opened:
        ops = await Client.ops(server.url)
        booth = await Client.booth(server.url, "langsa-04")
        opened += [ops, booth]
        reply = await ops.call("set_out_of_service", {"booth_id": "langsa-04",
                                                      "out_of_service": True,
                                                      "reason": "cleaning"})
        assert reply["ok"], reply
        refused = await booth.call("ready", {})
        assert refused["ok"] is False and refused["error"]["code"] == "conflict"
        assert (await ops.call("set_out_of_service", {"booth_id": "langsa-04",
                                                      "out_of_service": False}))["ok"]
        assert (await booth.call("ready", {}))["ok"]


async def test_faulty_booth_is_not_routed(server: RunningServer) -> None:
    async with clients() as opened:
        booth = await Client.booth(server.url, "langsa-05")
        opened.append(booth)
        assert (await booth.call("health", {"camera": "fault"}))["ok"]
        ready = await booth.call("ready", {})
        officer = await Client.officer(server.url, "cso1")
        opened.append(officer)
        assert await officer.quiet("offer", 0.5)
        assert (await booth.call("health", {"camera": "ok"}))["ok"]
        offer = await officer.next("offer")
        assert offer["session_id"] == ready["session_id"]
