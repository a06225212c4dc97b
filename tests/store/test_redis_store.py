"""What only the Redis store has to show: several processes on one Redis never lose an
update or overbook an officer, keys are hash-tagged by branch, and a Redis that stalls, dies or
restarts turns into `StoreUnavailable` within the socket timeout and then recovers by itself."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from booth_server.core import events as ev
from booth_server.core.dispatcher import Dispatcher, Policy, Result
from booth_server.core.model import AuditEntry, BranchState, DocumentRecord
from booth_server.errors import ApiError, ErrorCode
from booth_server.store.base import StoreBusy, StoreUnavailable
from booth_server.store.redis_store import RedisStore
from booth_server.store.state_fields import decode_fields, encode_fields
from tests.redis_server import RedisServer, free_port, redis_server
from tests.store.support import T0, apply, canonical, ready, template

pytestmark = pytest.mark.redis

B = "langsa"
MakeStore = Callable[..., RedisStore]


# ---------------------------------------------------------------------------- encoding, keys


def test_encoding_is_the_models_own_dict() -> None:
    state = template(booths=4, officers=(("o1", 5, False), ("o2", 2, True)))
    dispatcher = Dispatcher()
    for event in (
        ev.OfficerConnected(f"{B}-o1", conn="k1"),
        ev.BoothConnected(f"{B}-01", conn="c1"),
        ev.BoothReady(f"{B}-01", "s1", ticket="A-007", kind="collective", priority=3),
        ev.Accept(f"{B}-o1", "s1"),
        ev.RequestDocument(f"{B}-o1", "s1", "ktp"),
        ev.BoothConnected(f"{B}-02", conn="c2"),
        ev.BoothReady(f"{B}-02", "s2"),
        ev.Decline(f"{B}-o1", "s2", "busy"),
    ):
        dispatcher.handle(state, event, T0)
    state.sessions["s1"].documents["d1"] = DocumentRecord(kind="ktp", status="rejected",
                                                          reason="blurred")
    stored = encode_fields(state)
    assert set(stored) == {b"meta"} | {f"b:{b}".encode() for b in state.booths} | {
        f"o:{o}".encode() for o in state.officers} | {f"s:{s}".encode() for s in state.sessions}
    expected = json.loads(json.dumps(state.to_dict()))
    assert json.loads(stored[b"s:s1"]) == expected["sessions"]["s1"]
    assert json.loads(stored[b"o:langsa-o1"]) == expected["officers"]["langsa-o1"]
    assert canonical(decode_fields(stored)) == canonical(state)
    # The format before this one, the whole state in one field, still reads.
    assert canonical(decode_fields({b"rev": b"x", b"json": json.dumps(expected).encode()})) == (
        canonical(state)
    )


async def test_a_change_writes_only_the_fields_it_touched(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    store = make_redis_store()
    await store.init_branch(template(booths=50))
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    raw = redis.Redis.from_url(redis_srv.url)
    key = f"{store.prefix}:{{{B}}}:state"
    before = raw.hgetall(key)
    await ready(store, B, f"{B}-07", "s1", T0 + 1)
    after = raw.hgetall(key)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {b"rev", b"meta", b"b:langsa-07", b"o:langsa-o1", b"s:s1"}
    # What is stored is the state: another process reads exactly what this one holds.
    assert canonical(decode_fields(after)) == canonical(await store.snapshot(B))
    await apply(store, B, ev.BoothCancel(f"{B}-07", "s1"), T0 + 2)
    assert b"s:s1" not in raw.hgetall(key)
    raw.close()


async def test_a_branch_stored_in_the_previous_format_is_read_and_rewritten(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    old = template()
    Dispatcher().handle(old, ev.BoothConnected(f"{B}-01", conn="c1"), T0)
    raw = redis.Redis.from_url(redis_srv.url)
    prefix = f"legacy{random.randrange(10**6)}"
    key = f"{prefix}:{{{B}}}:state"
    raw.hset(key, mapping={"rev": b"old-rev", "json": json.dumps(old.to_dict())})
    store = RedisStore(redis_srv.url, prefix=prefix)
    await store.init_branch(template())
    assert (await store.snapshot(B)).booths[f"{B}-01"].connected
    await ready(store, B, f"{B}-02", "s2", T0 + 1)
    stored = raw.hgetall(key)
    assert b"json" not in stored
    state = decode_fields(stored)
    assert state.booths[f"{B}-01"].connected and set(state.sessions) == {"s2"}
    raw.close()
    await store.close()


async def test_keys_are_hash_tagged_by_branch(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    store = make_redis_store()
    await store.init_branch(template())
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    await ready(store, B, f"{B}-01", "s1", T0)
    await apply(store, B, ev.BoothCancel(f"{B}-01", "s1"), T0 + 1)
    await store.put_blob("doc-1", b"x", ttl_s=10)
    await store.touch_presence("booth", [f"{B}-01"], ttl_s=10)
    raw = redis.Redis.from_url(redis_srv.url)
    keys = {k.decode() for k in raw.keys(f"{store.prefix}:*")}
    raw.close()
    p = store.prefix
    assert keys == {
        f"{p}:{{langsa}}:state", f"{p}:{{langsa}}:audit", f"{p}:{{langsa}}:visits",
        f"{p}:branches", f"{p}:blob:doc-1", f"{p}:presence:booth:{B}-01",
    }
    assert await store.branches() == [B]


def test_branch_ids_with_braces_are_refused() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="braces"):
        store._state_key("lang{sa}")


# ---------------------------------------------------------------------------- several processes


async def test_processes_see_each_others_writes(make_redis_store: MakeStore) -> None:
    a, b = make_redis_store(), make_redis_store()
    await a.init_branch(template())
    await b.init_branch(template())
    await ready(a, B, f"{B}-01", "s1", T0)
    await ready(b, B, f"{B}-02", "s2", T0 + 1)
    await ready(a, B, f"{B}-03", "s3", T0 + 2)  # a's cached state is stale: must not be used
    for store in (a, b):
        state = await store.snapshot(B)
        assert {s.id: s.seq for s in state.sessions.values()} == {"s1": 1, "s2": 2, "s3": 3}
    assert [e.session_id for e in await b.audit(B) if e.event == "ready"] == ["s1", "s2", "s3"]


def command_calls(url: str) -> dict[str, int]:
    """How many times Redis ran each command so far (INFO commandstats)."""
    raw = redis.Redis.from_url(url)
    stats = raw.info("commandstats")
    raw.close()
    return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


async def test_a_change_on_a_branch_this_process_knows_is_one_round_trip(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    store = make_redis_store()
    await store.init_branch(template())
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    before = command_calls(redis_srv.url)
    result = await ready(store, B, f"{B}-01", "s1", T0)  # two changes: connect, then ready
    after = command_calls(redis_srv.url)
    used = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name)}
    # Commands a script runs are counted too (hget, hset, xadd ...): what matters is that the
    # store itself sent two scripts and no read, WATCH, MULTI or lease.
    assert used["evalsha"] == 2, used
    assert not {"hmget", "watch", "multi", "exec", "eval", "set"} & set(used), used
    assert result.reply["session_id"] == "s1"
    state = await make_redis_store().snapshot(B)  # what another process reads
    assert state.sessions["s1"].state == "offered"
    assert await store.session_route(B, "s1") is not None


async def test_a_refusal_is_never_made_on_a_stale_copy(make_redis_store: MakeStore) -> None:
    """Process a last saw the branch before b offered s1 to o1: o1's accept through a is
    checked against the current state, not refused on a's old copy."""
    a, b = make_redis_store(), make_redis_store()
    await a.init_branch(template())
    await b.init_branch(template())
    await apply(a, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    assert (await a.snapshot(B)).sessions == {}  # a's copy: no session at all
    await ready(b, B, f"{B}-01", "s1", T0 + 1)
    result = await apply(a, B, ev.Accept(f"{B}-o1", "s1"), T0 + 2)
    assert [e.event for e in result.audit] == ["session_started"]
    assert a.conflicts == 1
    # And a refusal on a copy that is current stands, after one check.
    with pytest.raises(ApiError, match="no pending offer"):
        await apply(a, B, ev.Accept(f"{B}-o1", "s2"), T0 + 3)
    assert a.conflicts == 1


async def test_a_read_never_sees_a_change_still_being_made(make_redis_store: MakeStore) -> None:
    """A snapshot that was waiting on Redis while a transaction in the same process ran on the
    cached state answers the state as committed, not the one being changed: here the change
    is refused and never committed at all."""
    store = make_redis_store()
    await store.init_branch(template())
    await ready(store, B, f"{B}-01", "s1", T0)
    assert set((await store.snapshot(B)).sessions) == {"s1"}  # cached now

    def end_then_refuse(state: BranchState) -> Result:
        del state.sessions["s1"]
        state.booths[f"{B}-01"].session_id = None
        raise ApiError(ErrorCode.CONFLICT, "refused after changing the state")

    async def refused() -> None:
        with pytest.raises(ApiError):
            await store.transact(B, end_then_refuse)

    seen, _ = await asyncio.gather(store.snapshot(B), refused())
    assert set(seen.sessions) == {"s1"}
    assert seen.booths[f"{B}-01"].session_id == "s1"
    assert set((await store.snapshot(B)).sessions) == {"s1"}


async def test_a_conflicting_write_makes_the_transaction_run_again(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    store = make_redis_store()
    await store.init_branch(template())
    other = redis.Redis.from_url(redis_srv.url)  # another process, writing in between
    calls = 0
    dispatcher = Dispatcher()

    def fn(state: BranchState) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            other.hset(f"{store.prefix}:{{{B}}}:state", "rev", b"someone-else")
        return dispatcher.handle(state, ev.BoothConnected(f"{B}-01", conn="c1"), T0)

    await store.transact(B, fn)
    other.close()
    assert calls == 2
    assert store.conflicts == 1
    assert [a.event for a in await store.audit(B)] == ["booth_connected"], "written once"


async def test_offer_set_by_one_process_expires_in_another(make_redis_store: MakeStore) -> None:
    a, b = make_redis_store(), make_redis_store()
    await a.init_branch(template())
    await b.init_branch(template())
    await apply(a, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    await ready(a, B, f"{B}-01", "s1", T0)
    seen_by_b = await b.snapshot(B)
    assert Dispatcher().next_deadline(seen_by_b) == T0 + 15
    result = await apply(b, B, ev.Tick(), T0 + 15)
    assert [(e.event, e.reason) for e in result.audit][:1] == [("requeued", "offer_expired")]
    state = await a.snapshot(B)
    assert state.sessions["s1"].state == "queued"
    assert state.officers[f"{B}-o1"].mode == "not_responding"


async def test_booth_grace_set_by_one_process_ends_in_another(
    make_redis_store: MakeStore,
) -> None:
    a, b = make_redis_store(), make_redis_store()
    await a.init_branch(template())
    await b.init_branch(template())
    await ready(a, B, f"{B}-01", "s1", T0)
    await apply(a, B, ev.BoothDisconnected(f"{B}-01", conn=f"c-{B}-01"), T0 + 1)
    await apply(b, B, ev.Tick(), T0 + 20.5)
    assert "s1" in (await a.snapshot(B)).sessions
    await apply(b, B, ev.Tick(), T0 + 21)
    assert (await a.snapshot(B)).sessions == {}
    [visit] = await a.visits(B)
    assert visit.reason == "booth_lost"


async def test_concurrent_ready_from_several_processes_loses_nothing(
    make_redis_store: MakeStore,
) -> None:
    stores = [make_redis_store() for _ in range(4)]
    booths = [f"{B}-{i:02d}" for i in range(1, 61)]
    await asyncio.gather(*(s.init_branch(template(booths=60)) for s in stores))
    await asyncio.gather(*(
        apply(random.choice(stores), B, ev.BoothConnected(b, conn=f"c-{b}"), T0) for b in booths
    ))
    replies = await asyncio.gather(*(
        apply(random.choice(stores), B, ev.BoothReady(b, f"s-{b}"), T0 + 1) for b in booths
    ))
    state = await stores[0].snapshot(B)
    assert len(state.sessions) == 60
    assert sorted(s.seq for s in state.sessions.values()) == list(range(1, 61))
    assert state.next_seq == 61
    assert all(state.booths[b].connected for b in booths)
    assert sorted(r.reply["position"] for r in replies) == list(range(1, 61))
    audit = await stores[1].audit(B, limit=0)
    assert sum(1 for a in audit if a.event == "ready") == 60
    assert sum(s.conflicts + s.lease_waits for s in stores) > 0, "no contention: a weak test"


def replay_invariants(audit: list[AuditEntry], capacity: dict[str, int]) -> dict[str, int]:
    """Walk the audit log and check, at every step, that no officer held more sessions plus
    offers than their capacity and no booth was in two sessions. Returns the peaks."""
    load: dict[str, set[str]] = defaultdict(set)
    booth_sessions: dict[str, set[str]] = defaultdict(set)
    peak: dict[str, int] = defaultdict(int)
    for entry in audit:
        sid = entry.session_id
        if sid is None:
            continue
        if entry.event == "ready":
            assert entry.booth_id is not None
            booth_sessions[entry.booth_id].add(sid)
            assert len(booth_sessions[entry.booth_id]) == 1, f"booth in two sessions: {entry}"
        elif entry.event in ("offered", "session_started"):
            assert entry.officer_id is not None
            for other, sessions in load.items():
                assert other == entry.officer_id or sid not in sessions, f"two officers: {entry}"
            load[entry.officer_id].add(sid)
        elif entry.event == "transferred":
            assert entry.officer_id is not None
            load[entry.officer_id].discard(sid)
        elif entry.event in ("requeued", "session_ended"):
            if entry.officer_id is not None:
                load[entry.officer_id].discard(sid)
            if entry.event == "session_ended":
                assert entry.booth_id is not None
                booth_sessions[entry.booth_id].discard(sid)
        for officer_id, sessions in load.items():
            assert len(sessions) <= capacity[officer_id], f"{officer_id} over capacity: {entry}"
            peak[officer_id] = max(peak[officer_id], len(sessions))
    return peak


async def test_no_officer_over_capacity_when_processes_dispatch_at_once(
    make_redis_store: MakeStore,
) -> None:
    """Four "processes" drive 30 booths and 4 officers (capacity 2) at the same time, with
    offers that expire fast, declines, completions and ticks, each event from a random one."""
    stores = [make_redis_store() for _ in range(4)]
    officers = (("o1", 2, False), ("o2", 2, False), ("o3", 2, True), ("o4", 1, False))
    tpl = template(booths=30, officers=officers)
    capacity = {o.id: o.capacity for o in tpl.officers.values()}
    await asyncio.gather(*(s.init_branch(tpl) for s in stores))
    dispatcher = Dispatcher(Policy(offer_timeout_s=0.15, officer_grace_s=0.5,
                                   booth_grace_s=0.5, decline_cooldown_s=0.1))
    violations: list[str] = []
    rng = random.Random(6)
    stop_at = time.monotonic() + 4.0

    async def do(event: ev.Event) -> Result | None:
        def fn(state: BranchState) -> Result:
            result = dispatcher.handle(state, event, time.time())
            for officer in state.officers.values():
                if officer.load > officer.capacity:
                    violations.append(f"{officer.id} load {officer.load} after {event}")
            held = [b.session_id for b in state.booths.values() if b.session_id]
            if len(held) != len(set(held)):
                violations.append(f"a session held by two booths after {event}")
            return result

        try:
            return await rng.choice(stores).transact(B, fn)
        except ApiError:
            return None  # a lost race (offer already expired, session gone): refused cleanly

    async def booth(booth_id: str) -> int:
        visits = 0
        await do(ev.BoothConnected(booth_id, conn=f"c-{booth_id}"))
        while time.monotonic() < stop_at:
            result = await do(ev.BoothReady(booth_id, f"{booth_id}-{visits}"))
            if result is not None:
                visits += 1
            while time.monotonic() < stop_at:
                await asyncio.sleep(rng.uniform(0.01, 0.05))
                state = await rng.choice(stores).snapshot(B)
                if state.booths[booth_id].session_id is None:
                    break
                if rng.random() < 0.01:
                    session_id = state.booths[booth_id].session_id
                    assert session_id is not None
                    await do(ev.BoothCancel(booth_id, session_id, "left"))
        return visits

    async def officer(officer_id: str) -> None:
        await do(ev.OfficerConnected(officer_id, conn=f"k-{officer_id}"))
        while time.monotonic() < stop_at:
            await asyncio.sleep(rng.uniform(0.01, 0.06))
            state = await rng.choice(stores).snapshot(B)
            me = state.officers[officer_id]
            if me.mode == "not_responding":
                await do(ev.SetStatus(officer_id, "available"))
            for session_id in list(me.offers):
                if rng.random() < 0.15:
                    await do(ev.Decline(officer_id, session_id))
                elif rng.random() < 0.8:
                    await do(ev.Accept(officer_id, session_id))
            for session_id in list(me.sessions):
                if rng.random() < 0.3:
                    await do(ev.Complete(officer_id, session_id, "claim_submitted"))
            if rng.random() < 0.02:
                await do(ev.OfficerDisconnected(officer_id, conn=f"k-{officer_id}"))
                await asyncio.sleep(0.05)
                await do(ev.OfficerConnected(officer_id, conn=f"k-{officer_id}"))

    async def ticker() -> None:
        while time.monotonic() < stop_at:
            await asyncio.sleep(0.03)
            await do(ev.Tick())

    visits, *_ = await asyncio.gather(
        asyncio.gather(*(booth(b) for b in tpl.booths)),
        *(officer(o) for o in tpl.officers),
        ticker(),
    )
    assert violations == []
    audit = await stores[0].audit(B, limit=0)
    peaks = replay_invariants(audit, capacity)
    assert max(peaks.values()) >= 1
    state = await stores[0].snapshot(B)
    ended = {v.session_id for v in await stores[0].visits(B)}
    started = {a.session_id for a in audit if a.event == "ready"}
    assert started == ended | set(state.sessions), "every session ended or is still live"
    assert not ended & set(state.sessions)
    assert sum(visits) == len(started)
    assert len(ended) > 10, f"too little happened: {len(ended)} visits ended"
    assert sum(s.conflicts + s.lease_waits for s in stores) > 0


async def test_a_dead_holders_lease_delays_the_branch_only_until_it_expires(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    store = make_redis_store()
    await store.init_branch(template())
    dead = redis.Redis.from_url(redis_srv.url)  # a process killed while holding the lease
    dead.set(f"{store.prefix}:{{{B}}}:lease", b"dead-process", px=300)
    dead.close()
    started = time.monotonic()
    await ready(store, B, f"{B}-01", "s1", T0)
    waited = time.monotonic() - started
    assert 0.2 < waited < 1.0
    assert store.lease_waits >= 1
    assert set((await store.snapshot(B)).sessions) == {"s1"}


async def test_no_turn_in_time_is_busy_not_unavailable(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    """A change that waits past the deadline for its turn on a busy branch (here behind a
    lease another process holds) is refused as busy: Redis itself is answering."""
    store = make_redis_store(socket_timeout=0.2)
    await store.init_branch(template())
    other = redis.Redis.from_url(redis_srv.url)
    other.set(f"{store.prefix}:{{{B}}}:lease", b"another-process", px=30_000)
    other.close()
    started = time.monotonic()
    with pytest.raises(StoreBusy, match="no turn on the branch"):
        await ready(store, B, f"{B}-01", "s1", T0)
    assert time.monotonic() - started < 1.0
    assert await store.healthy()


async def test_a_lease_lost_while_writing_never_lets_a_stale_write_through(
    make_redis_store: MakeStore, redis_srv: RedisServer
) -> None:
    """The lease is only for speed: if it expired while a (stalled) holder worked and someone
    else wrote, the holder's EXEC fails on the WATCH and it runs again on the new state."""
    a, b = make_redis_store(), make_redis_store()
    await a.init_branch(template())
    other = redis.Redis.from_url(redis_srv.url)
    lease_key = f"{a.prefix}:{{{B}}}:lease"
    other.set(lease_key, b"someone", px=50)  # a makes a queue for the lease
    calls = 0
    dispatcher = Dispatcher()

    def slow(state: BranchState) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            # While a holds the lease, it "expires" and b's write lands first.
            other.delete(lease_key)
            other.hset(f"{a.prefix}:{{{B}}}:state", "rev", b"written-by-b")
        return dispatcher.handle(state, ev.BoothConnected(f"{B}-01", conn="c1"), T0)

    await a.transact(B, slow)
    other.close()
    assert calls == 2
    assert [e.event for e in await b.audit(B)] == ["booth_connected"]


async def test_a_cancelled_loop_of_calls_always_stops(make_redis_store: MakeStore) -> None:
    """The timer and heartbeat loops call the store for ever and stop only by cancellation. A
    cancellation that lands as a command is being sent must not be lost (redis-py's socket
    timeout sends through asyncio.wait_for, which on Python 3.11 loses about 1 in 20 of these:
    the loop ran on and the server's shutdown never ended)."""
    store = make_redis_store()
    await store.init_branch(template())
    rng = random.Random(3)

    async def forever() -> None:
        while True:
            await store.touch_presence("booth", [f"{B}-01"], ttl_s=10)
            await store.snapshot(B)

    for round_ in range(300):
        task = asyncio.create_task(forever())
        await asyncio.sleep(rng.uniform(0, 0.002))
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=1.0)
        assert done, f"round {round_}: the cancellation was lost and the loop ran on"
        assert task.cancelled()
    assert await store.healthy()


# ---------------------------------------------------------------------------- Redis faults


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, free to pause, kill and restart."""
    with redis_server(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def fault_store(private_redis: RedisServer) -> AsyncIterator[RedisStore]:
    store = RedisStore(private_redis.url, prefix="fault", socket_timeout=0.5)
    await store.init_branch(template())
    yield store
    await store.close()


def operations(store: RedisStore) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "transact": lambda: ready(store, B, f"{B}-01", "s-x", T0 + 50),
        "snapshot": lambda: store.snapshot(B),
        "init_branch": lambda: store.init_branch(template()),
        "audit": lambda: store.audit(),
        "visits": lambda: store.visits(B),
        "put_blob": lambda: store.put_blob("k", b"v", 10),
        "get_blob": lambda: store.get_blob("k"),
        "delete_blob": lambda: store.delete_blob("k"),
        "touch_presence": lambda: store.touch_presence("booth", ["x"], 10),
        "present": lambda: store.present("booth", ["x"]),
        "branches": lambda: store.branches(),
    }


async def timed_failure(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await call()
    return time.monotonic() - started


async def test_paused_redis_is_unavailable_within_the_socket_timeout(
    private_redis: RedisServer, fault_store: RedisStore
) -> None:
    await ready(fault_store, B, f"{B}-02", "s-before", T0)
    private_redis.pause()
    try:
        started = time.monotonic()
        assert await fault_store.healthy() is False
        assert time.monotonic() - started < 0.8
        for name, call in operations(fault_store).items():
            elapsed = await timed_failure(call)
            assert elapsed < 0.5 * 1.5 + 0.25, f"{name} took {elapsed:.2f} s"
        # Queued behind each other on the branch lock: still bounded, all of them.
        started = time.monotonic()
        results = await asyncio.gather(
            *(apply(fault_store, B, ev.Tick(), T0 + i) for i in range(8)),
            return_exceptions=True,
        )
        assert all(isinstance(r, StoreUnavailable) for r in results), results
        assert time.monotonic() - started < 0.5 * 1.5 + 0.25
    finally:
        private_redis.resume()
    # The same store object works again, and the state from before is all there.
    assert await fault_store.healthy() is True
    await ready(fault_store, B, f"{B}-03", "s-after", T0 + 60)
    state = await fault_store.snapshot(B)
    assert {"s-before", "s-after"} <= set(state.sessions)


async def test_killed_redis_is_unavailable_at_once_and_a_restart_recovers(
    private_redis: RedisServer, fault_store: RedisStore
) -> None:
    await ready(fault_store, B, f"{B}-02", "s-before", T0)
    private_redis.kill()
    assert await fault_store.healthy() is False
    for name, call in operations(fault_store).items():
        elapsed = await timed_failure(call)
        assert elapsed < 0.3, f"{name} took {elapsed:.2f} s against a closed port"
    private_redis.start()  # same port, empty: no persistence
    assert await fault_store.healthy() is True
    # The branch was lost with Redis' memory; the store starts it again from its template.
    state = await fault_store.snapshot(B)
    assert state.sessions == {}
    result = await ready(fault_store, B, f"{B}-03", "s-after", T0 + 60)
    assert result.reply["session_id"] == "s-after"
    assert set((await fault_store.snapshot(B)).sessions) == {"s-after"}
    assert await fault_store.branches() == [B]


async def test_restart_with_persistence_keeps_state_and_pooled_connections_recover(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path / "aof", persistent=True) as server:
        store = RedisStore(server.url, prefix="p", socket_timeout=0.5)
        other = RedisStore(server.url, prefix="p", socket_timeout=0.5)
        await store.init_branch(template())
        # Several pooled connections, all of them broken by the restart.
        await asyncio.gather(*(ready(store, B, f"{B}-0{i}", f"s{i}", T0) for i in range(1, 5)))
        server.restart()
        # No StoreUnavailable after Redis is back: the pool replaces dead connections.
        await asyncio.gather(*(store.snapshot(B) for _ in range(4)))
        await ready(store, B, f"{B}-05", "s5", T0 + 1)
        await ready(other, B, f"{B}-06", "s6", T0 + 2)
        state = await store.snapshot(B)
        assert {s.id: s.seq for s in state.sessions.values()} == {
            f"s{i}": i for i in range(1, 7)
        }
        assert len(await store.audit(B, limit=0)) == 12
        await store.close()
        await other.close()


async def test_no_redis_at_all(tmp_path: Path) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    assert await store.healthy() is False
    assert await timed_failure(lambda: store.init_branch(template())) < 0.3
    await store.close()


async def test_unroutable_redis_times_out(tmp_path: Path) -> None:
    # A blackholed address: connect() itself hangs, bounded by the connect timeout.
    store = RedisStore("redis://10.255.255.1:6390/0", socket_timeout=0.3)
    assert await timed_failure(lambda: store.snapshot(B)) < 0.3 * 1.5 + 0.25
    await store.close()


# ---------------------------------------------------------------------------- presence


async def test_presence_expires_and_is_shared(make_redis_store: MakeStore) -> None:
    a, b = make_redis_store(), make_redis_store()
    await a.touch_presence("booth", [f"{B}-01", f"{B}-02"], ttl_s=0.25)
    await a.touch_presence("officer", [f"{B}-o1"], ttl_s=5)
    assert await b.present("booth", [f"{B}-01", f"{B}-02", f"{B}-03"]) == {f"{B}-01", f"{B}-02"}
    assert await b.present("officer", [f"{B}-01", f"{B}-o1"]) == {f"{B}-o1"}
    await asyncio.sleep(0.15)
    await b.touch_presence("booth", [f"{B}-02"], ttl_s=0.25)  # heartbeat from another process
    await asyncio.sleep(0.2)
    assert await a.present("booth", [f"{B}-01", f"{B}-02"]) == {f"{B}-02"}
    await asyncio.sleep(0.3)
    assert await a.present("booth", [f"{B}-01", f"{B}-02"]) == set()
    assert await a.present("officer", [f"{B}-o1"]) == {f"{B}-o1"}


async def test_blob_expiry_seen_by_another_process(make_redis_store: MakeStore) -> None:
    a, b = make_redis_store(), make_redis_store()
    await a.put_blob("doc", b"jpeg", ttl_s=0.2)
    assert await b.get_blob("doc") == b"jpeg"
    await asyncio.sleep(0.3)
    assert await b.get_blob("doc") is None
