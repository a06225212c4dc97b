"""A resumed ``assigned`` (the officer's console reloaded or reconnected, or a transfer) makes
the booth drop its old peer connection and offer afresh at once, through the real server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from booth_client.officer_peer import OfficerPeer, OfficerSession
from booth_client.screen import Phase
from booth_client.session import BoothAgent

from .conftest import BoothFactory, H, OfficerFactory, W

pytestmark = [pytest.mark.media, pytest.mark.slow]


async def _live(officer: OfficerPeer, agent: BoothAgent) -> OfficerSession:
    assert await officer.wait_for(
        lambda o: any(s.frames >= 10 for s in o.live_sessions()), within=15
    ), officer.sessions
    (session,) = officer.live_sessions()
    assert await agent.wait_for(lambda a: a.state.phase is Phase.IN_SESSION, within=5)
    return session


async def test_officer_reconnect_gets_a_fresh_offer_at_once(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    # The media-stall watchdog is pushed far out: only the resumed ``assigned`` may recover.
    agent = await make_booth(server.url, media_stall_s=120.0, negotiation_timeout_s=60.0)
    session = await _live(officer, agent)
    sid = session.session_id
    offers = agent.counters.offers_sent

    # The console tab dies and comes back: its peer connection goes silent without a goodbye
    # (the booth's side keeps looking "connected"), and its socket reconnects.
    await officer.cut_media(sid)
    started = time.monotonic()
    assert officer.sio.eio.ws is not None
    await officer.sio.eio.ws.close()
    assert await agent.wait_for(lambda a: a.counters.offers_sent > offers, within=10), (
        agent.counters
    )
    assert await officer.wait_for(lambda o: session.offers_answered >= 2, within=10)
    frames = session.frames
    assert await session.sink.wait_video(frames=frames + 15, within=10, size=(W, H))
    recovered_s = time.monotonic() - started
    assert recovered_s < 5.0, recovered_s  # the console's "restored within 5 s"
    assert agent.session_id == sid
    assert await agent.wait_for(lambda a: a.state.phase is Phase.IN_SESSION, within=5)
    assert agent.counters.offers_sent == offers + 1


async def test_only_a_plain_duplicate_assigned_is_ignored(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    from booth_server.transport.app import SIO_KEY

    officer = await make_officer(server.url)
    agent = await make_booth(server.url)
    session = await _live(officer, agent)
    sid = session.session_id
    sio = server.app[SIO_KEY]
    me = {"id": officer.officer_id, "name": agent.officer_name}
    offers = agent.counters.offers_sent

    async def assigned(**extra: Any) -> None:
        payload = {"session_id": sid, "officer": me, **extra}
        await sio.emit("assigned", payload, room="booth:langsa-01", namespace="/booth")

    await assigned()  # the same officer, not resumed, media up: nothing to do
    frames = session.frames
    assert await session.sink.wait_video(frames=frames + 10, within=10)
    assert agent.counters.offers_sent == offers

    # Resumed while the officer's media still flows: the console only lost its socket (its
    # peer connection is alive), so the video is left alone.
    await assigned(resumed=True)
    frames = session.frames
    assert await session.sink.wait_video(frames=frames + 15, within=10)
    assert agent.counters.offers_sent == offers

    # Resumed after the officer's media stopped: the console reloaded, a fresh offer at once.
    await officer.cut_media(sid)
    await asyncio.sleep(0.3)  # the last frames in flight land
    await assigned(resumed=True)
    assert await agent.wait_for(lambda a: a.counters.offers_sent == offers + 1, within=5)
    assert await officer.wait_for(lambda o: session.offers_answered >= 2, within=10)
    frames = session.frames
    assert await session.sink.wait_video(frames=frames + 10, within=10)

    # Another officer (a transfer) without the flag: a fresh offer as well.
    await sio.emit(
        "assigned",
        {"session_id": sid, "officer": {"id": "cso2", "name": "Officer Two"}},
        room="booth:langsa-01",
        namespace="/booth",
    )
    assert await agent.wait_for(lambda a: a.counters.offers_sent == offers + 2, within=5)
    assert agent.officer_id == "cso2"
