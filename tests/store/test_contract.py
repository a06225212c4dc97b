"""The store contract: every test here runs against MemoryStore and RedisStore (a real
redis-server), and both must behave the same."""

from __future__ import annotations

import asyncio

import pytest

from booth_server.core import events as ev
from booth_server.core.dispatcher import Result
from booth_server.core.model import BranchState
from booth_server.errors import ApiError
from booth_server.store.base import Store
from tests.store.support import T0, apply, canonical, ready, template

pytestmark = pytest.mark.redis

B = "langsa"


async def visit(store: Store, booth: str, session: str, now: float) -> None:
    """One whole visit on branch langsa: ready, offer, accept, complete."""
    officer = f"{B}-o1"
    await ready(store, B, booth, session, now)
    await apply(store, B, ev.Accept(officer, session), now + 1)
    await apply(store, B, ev.Complete(officer, session, "claim_submitted", note="ok"), now + 60)


# ---------------------------------------------------------------------------- branches


async def test_init_branch_creates_from_the_template(store: Store) -> None:
    tpl = template(booths=3)
    await store.init_branch(tpl)
    assert canonical(await store.snapshot(B)) == canonical(tpl)


async def test_init_branch_does_not_keep_the_callers_template(store: Store) -> None:
    tpl = template(booths=3)
    await store.init_branch(tpl)
    tpl.booths[f"{B}-01"].label = "changed by the caller"
    assert (await store.snapshot(B)).booths[f"{B}-01"].label == "Booth 1"


async def test_unknown_branch(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.snapshot("medan")
    with pytest.raises(KeyError):
        await apply(store, "medan", ev.Tick())


async def test_init_branch_again_reconciles_and_keeps_live_facts(store: Store) -> None:
    await store.init_branch(template(booths=4, officers=(("o1", 5, False), ("o2", 5, False))))
    await apply(store, B, ev.OfficerConnected(f"{B}-o2", conn="k2"), T0)
    await ready(store, B, f"{B}-02", "s1", T0)
    await ready(store, B, f"{B}-03", "s2", T0)
    before = await store.snapshot(B)
    assert before.sessions["s1"].officer_id == f"{B}-o2"

    # New config: booth 1 relabelled, 02 and 04 removed (02 holds a session), 05 added;
    # o1 removed (idle), o2 removed (has offers), o3 added, name changed.
    new = template(booths=5, officers=(("o3", 3, True),), name="Langsa Kota")
    new.booths[f"{B}-01"].label = "Kiosk A"
    del new.booths[f"{B}-02"]
    del new.booths[f"{B}-04"]
    new.officers[f"{B}-o3"].capacity = 3
    await store.init_branch(new)

    after = await store.snapshot(B)
    assert after.name == "Langsa Kota"
    assert after.booths[f"{B}-01"].label == "Kiosk A"
    assert f"{B}-02" in after.booths, "a removed booth is kept while it holds a session"
    assert f"{B}-04" not in after.booths
    assert f"{B}-05" in after.booths
    assert f"{B}-o1" not in after.officers
    assert f"{B}-o2" in after.officers, "a removed officer is kept while loaded"
    assert after.officers[f"{B}-o3"].auto_accept is True
    assert set(after.sessions) == {"s1", "s2"}
    assert after.booths[f"{B}-02"].connected is True
    assert after.next_seq == before.next_seq


async def test_a_capacity_lowered_below_the_load_ends_no_session_and_offers_nothing_more(
    store: Store,
) -> None:
    """Config lowers an officer's capacity from 3 to 1 while they serve 3 booths: their
    sessions go on (nobody is cut off mid-call), and the next booth waits until the officer's
    load is below the new capacity."""
    o1 = f"{B}-o1"
    await store.init_branch(template(booths=4, officers=(("o1", 3, False),)))
    await apply(store, B, ev.OfficerConnected(o1, conn="k1"), T0)
    for i in (1, 2, 3):
        await ready(store, B, f"{B}-0{i}", f"s{i}", T0)
        await apply(store, B, ev.Accept(o1, f"s{i}"), T0 + 1)
    await store.init_branch(template(booths=4, officers=(("o1", 1, False),)))
    state = await store.snapshot(B)
    assert state.officers[o1].capacity == 1
    assert sorted(state.officers[o1].sessions) == ["s1", "s2", "s3"]
    await ready(store, B, f"{B}-04", "s4", T0 + 2)
    for i in (1, 2):
        await apply(store, B, ev.Complete(o1, f"s{i}", "claim_submitted"), T0 + 3)
        assert (await store.snapshot(B)).sessions["s4"].state == "queued"
    await apply(store, B, ev.Complete(o1, "s3", "claim_submitted"), T0 + 4)
    state = await store.snapshot(B)
    assert state.sessions["s4"].state == "offered"
    assert state.officers[o1].offers == ["s4"]


async def test_init_branch_twice_with_the_same_template_changes_nothing(store: Store) -> None:
    await store.init_branch(template())
    await ready(store, B, f"{B}-01", "s1", T0)
    before = canonical(await store.snapshot(B))
    await store.init_branch(template())
    assert canonical(await store.snapshot(B)) == before


# ---------------------------------------------------------------------------- transact


async def test_transact_persists_the_result(store: Store) -> None:
    await store.init_branch(template())
    result = await ready(store, B, f"{B}-01", "s1", T0)
    assert result.reply == {"session_id": "s1", "position": 1}
    state = await store.snapshot(B)
    assert state.sessions["s1"].state == "queued"
    assert state.booths[f"{B}-01"].session_id == "s1"
    assert state.next_seq == 2
    assert state.version >= 2


async def test_transact_returns_the_functions_own_result(store: Store) -> None:
    await store.init_branch(template())
    marker = Result(reply={"marker": 1})

    def fn(state: BranchState) -> Result:
        state.completed = 41
        return marker

    returned = await store.transact(B, fn)
    assert returned.reply == {"marker": 1}
    assert (await store.snapshot(B)).completed == 41


async def test_refused_event_leaves_state_and_audit_unchanged(store: Store) -> None:
    await store.init_branch(template())
    await ready(store, B, f"{B}-01", "s1", T0)
    before = canonical(await store.snapshot(B))
    audit_before = await store.audit(B)
    with pytest.raises(ApiError) as caught:
        await apply(store, B, ev.Accept(f"{B}-o1", "no-such-session"), T0 + 1)
    assert str(caught.value.code) == "not_found"
    with pytest.raises(ApiError):
        await apply(store, B, ev.BoothReady(f"{B}-02", "s1"), T0 + 1)  # disconnected booth
    assert canonical(await store.snapshot(B)) == before
    assert await store.audit(B) == audit_before
    # and the store still works afterwards
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0 + 2)
    assert (await store.snapshot(B)).sessions["s1"].state == "offered"


async def test_function_that_raises_saves_nothing(store: Store) -> None:
    await store.init_branch(template())
    before = canonical(await store.snapshot(B))

    def boom(state: BranchState) -> Result:
        raise RuntimeError("dispatcher bug")

    with pytest.raises(RuntimeError, match="dispatcher bug"):
        await store.transact(B, boom)
    assert canonical(await store.snapshot(B)) == before


async def test_a_full_visit_is_audited_and_recorded(store: Store) -> None:
    await store.init_branch(template())
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    await visit(store, f"{B}-01", "s1", T0 + 10)

    state = await store.snapshot(B)
    assert state.sessions == {}
    assert state.completed == 1
    assert state.officers[f"{B}-o1"].load == 0

    events = [(a.event, a.session_id, a.from_state, a.to_state) for a in await store.audit(B)]
    assert events == [
        ("officer_connected", None, "offline", "available"),
        ("booth_connected", None, "offline", "online"),
        ("ready", "s1", None, "queued"),
        ("offered", "s1", "queued", "offered"),
        ("session_started", "s1", "offered", "active"),
        ("session_ended", "s1", "active", "ended"),
    ]
    ended = (await store.audit(B))[-1]
    assert ended.reason == "completed"
    assert ended.actor == f"{B}-o1"
    assert ended.officer_id == f"{B}-o1"
    assert ended.booth_id == f"{B}-01"
    assert ended.at == T0 + 70

    [v] = await store.visits(B)
    assert (v.session_id, v.booth_id, v.officer_id, v.outcome, v.reason, v.note) == (
        "s1", f"{B}-01", f"{B}-o1", "claim_submitted", "completed", "ok"
    )
    assert v.created_at == T0 + 10
    assert v.started_at == T0 + 11
    assert v.ended_at == T0 + 70


async def test_offer_expiry_is_driven_by_deadlines_in_the_state(store: Store) -> None:
    await store.init_branch(template())
    await apply(store, B, ev.OfficerConnected(f"{B}-o1", conn="k1"), T0)
    await ready(store, B, f"{B}-01", "s1", T0)
    assert (await store.snapshot(B)).sessions["s1"].offer_expires_at == T0 + 15
    await apply(store, B, ev.Tick(), T0 + 14.9)
    assert (await store.snapshot(B)).sessions["s1"].state == "offered"
    await apply(store, B, ev.Tick(), T0 + 15)
    state = await store.snapshot(B)
    assert state.sessions["s1"].state == "queued"
    assert state.officers[f"{B}-o1"].mode == "not_responding"
    assert [a.reason for a in await store.audit(B) if a.event == "requeued"] == ["offer_expired"]


async def test_a_tick_with_nothing_due_changes_nothing(store: Store) -> None:
    await store.init_branch(template())
    await ready(store, B, f"{B}-01", "s1", T0)
    before = canonical(await store.snapshot(B))
    result = await apply(store, B, ev.Tick(), T0 + 1)
    assert result.audit == [] and result.outbound == []
    assert canonical(await store.snapshot(B)) == before


async def test_concurrent_transactions_in_one_process_lose_nothing(store: Store) -> None:
    await store.init_branch(template(booths=20))
    booths = [f"{B}-{i:02d}" for i in range(1, 21)]
    await asyncio.gather(
        *(apply(store, B, ev.BoothConnected(b, conn=f"c{b}"), T0) for b in booths)
    )
    replies = await asyncio.gather(
        *(apply(store, B, ev.BoothReady(b, f"s-{b}"), T0 + 1) for b in booths)
    )
    state = await store.snapshot(B)
    assert len(state.sessions) == 20
    assert sorted(s.seq for s in state.sessions.values()) == list(range(1, 21))
    assert sorted(r.reply["position"] for r in replies) == list(range(1, 21))


# ---------------------------------------------------------------------------- audit and visits


async def _two_branches(store: Store) -> None:
    await store.init_branch(template("langsa"))
    await store.init_branch(template("medan"))
    for i in range(5):
        await apply(store, "langsa", ev.BoothConnected(f"langsa-0{i + 1}"), T0 + 10 * i)
        await apply(store, "medan", ev.BoothConnected(f"medan-0{i + 1}"), T0 + 10 * i + 5)


async def test_audit_filters_by_branch(store: Store) -> None:
    await _two_branches(store)
    langsa = await store.audit("langsa")
    assert [a.booth_id for a in langsa] == [f"langsa-0{i}" for i in range(1, 6)]
    assert {a.branch for a in langsa} == {"langsa"}
    everything = await store.audit()
    assert [a.at for a in everything] == sorted(a.at for a in everything)
    assert len(everything) == 10
    assert {a.branch for a in everything} == {"langsa", "medan"}


async def test_audit_since_and_limit(store: Store) -> None:
    await _two_branches(store)
    since = await store.audit("langsa", since=T0 + 20)
    assert [a.at for a in since] == [T0 + 20, T0 + 30, T0 + 40]
    newest = await store.audit("langsa", limit=2)
    assert [a.at for a in newest] == [T0 + 30, T0 + 40], "the newest `limit`, oldest first"
    both = await store.audit(since=T0 + 25, limit=3)
    assert [a.at for a in both] == [T0 + 35, T0 + 40, T0 + 45]
    assert len(await store.audit(limit=0)) == 10, "limit 0: no limit"
    assert await store.audit("langsa", since=T0 + 1000) == []
    assert await store.audit("nowhere") == []


async def test_audit_limit_larger_than_one_read_batch(store: Store) -> None:
    await store.init_branch(template(booths=1))
    booth = f"{B}-01"
    for i in range(700):
        toggle = ev.BoothConnected(booth) if i % 2 == 0 else ev.BoothDisconnected(booth)
        await apply(store, B, toggle, T0 + i)
    rows = await store.audit(B, limit=650)
    assert len(rows) == 650
    assert rows[-1].at == T0 + 699
    assert rows[0].at == T0 + 50
    assert len(await store.audit(B, limit=0)) == 700
    assert len(await store.audit(B, since=T0 + 100, limit=0)) == 600


async def test_visits_filter_by_branch_and_since(store: Store) -> None:
    await store.init_branch(template("langsa"))
    await store.init_branch(template("medan"))
    for branch in ("langsa", "medan"):
        await apply(store, branch, ev.OfficerConnected(f"{branch}-o1", conn="k"), T0)
    for i in range(3):
        for branch in ("langsa", "medan"):
            offset = 100 * i + (0 if branch == "langsa" else 50)
            await ready(store, branch, f"{branch}-0{i + 1}", f"{branch}-s{i}", T0 + offset)
            await apply(store, branch, ev.Accept(f"{branch}-o1", f"{branch}-s{i}"), T0 + offset)
            await apply(
                store, branch, ev.BoothCancel(f"{branch}-0{i + 1}", f"{branch}-s{i}", "left"),
                T0 + offset + 10,
            )
    langsa = await store.visits("langsa")
    assert [v.session_id for v in langsa] == ["langsa-s0", "langsa-s1", "langsa-s2"]
    assert {v.reason for v in langsa} == {"left"}
    everything = await store.visits()
    assert [v.ended_at for v in everything] == sorted(v.ended_at for v in everything)
    assert len(everything) == 6
    recent = await store.visits(since=T0 + 110)
    assert [v.session_id for v in recent] == ["langsa-s1", "medan-s1", "langsa-s2", "medan-s2"]
    assert await store.visits("medan", since=T0 + 260) == [v for v in everything if
                                                           v.session_id == "medan-s2"]


# ---------------------------------------------------------------------------- blobs


async def test_blobs_put_get_delete(store: Store) -> None:
    assert await store.get_blob("doc-1") is None
    await store.put_blob("doc-1", b"\x89PNG\x00binary", ttl_s=60)
    assert await store.get_blob("doc-1") == b"\x89PNG\x00binary"
    await store.put_blob("doc-1", b"replaced", ttl_s=60)
    assert await store.get_blob("doc-1") == b"replaced"
    await store.delete_blob("doc-1")
    assert await store.get_blob("doc-1") is None
    await store.delete_blob("doc-1")  # deleting twice is fine


async def test_blobs_expire(store: Store) -> None:
    await store.put_blob("short", b"a", ttl_s=0.2)
    await store.put_blob("long", b"b", ttl_s=30)
    await store.put_blob("gone", b"c", ttl_s=0)
    assert await store.get_blob("short") == b"a"
    assert await store.get_blob("gone") is None
    await asyncio.sleep(0.35)
    assert await store.get_blob("short") is None
    assert await store.get_blob("long") == b"b"


async def test_large_blob(store: Store) -> None:
    data = bytes(range(256)) * (8 * 1024 * 1024 // 256)  # 8 MB, the upload limit
    await store.put_blob("big", data, ttl_s=30)
    assert await store.get_blob("big") == data


# ---------------------------------------------------------------------------- presence, health


async def test_presence_of_touched_parties(store: Store) -> None:
    await store.touch_presence("booth", ["langsa-01", "langsa-02"], ttl_s=30)
    await store.touch_presence("officer", [], ttl_s=30)
    assert await store.present("booth", ["langsa-01", "langsa-02"]) == {"langsa-01", "langsa-02"}
    assert await store.present("booth", []) == set()


async def test_healthy(store: Store) -> None:
    assert await store.healthy() is True


async def test_session_routes_follow_the_session(store: Store) -> None:
    """The relay's view of a session (its parties) matches the state at every step."""
    from booth_server.store.base import SessionRoute

    await store.init_branch(template())
    officer = f"{B}-o1"
    assert await store.session_route(B, "s1") is None
    await ready(store, B, f"{B}-01", "s1", T0)
    assert await store.session_route(B, "s1") == SessionRoute(f"{B}-01", None, "queued")
    await apply(store, B, ev.OfficerConnected(officer, conn="k1"), T0 + 1)
    assert await store.session_route(B, "s1") == SessionRoute(f"{B}-01", officer, "offered")
    await apply(store, B, ev.Accept(officer, "s1"), T0 + 2)
    assert await store.session_route(B, "s1") == SessionRoute(f"{B}-01", officer, "active")
    await apply(store, B, ev.Complete(officer, "s1", "other"), T0 + 30)
    assert await store.session_route(B, "s1") is None
