"""Booth kiosk ↔ real booth server ↔ headless officer, all on loopback with real aiortc."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from booth_client.officer_peer import OfficerPeer, OfficerSession
from booth_client.screen import Phase
from booth_client.session import BoothAgent
from booth_client.sources import SyntheticSource

from .conftest import BoothFactory, H, OfficerFactory, W

pytestmark = [pytest.mark.media, pytest.mark.slow]


async def _live(officer: OfficerPeer, agent: BoothAgent, frames: int = 15) -> OfficerSession:
    """Wait until the booth's session is live with video both ways; return it."""
    assert await officer.wait_for(
        lambda o: any(s.frames >= frames for s in o.live_sessions()), within=15
    ), f"no video at the officer: {officer.sessions}"
    (session,) = [s for s in officer.live_sessions() if s.frames >= frames]
    assert session.session_id == agent.session_id
    assert await agent.sink.wait_video(frames=frames, within=10, size=(W, H))
    assert await agent.wait_for(lambda a: a.state.phase is Phase.IN_SESSION, within=5)
    return session


async def _more_frames(session: OfficerSession, agent: BoothAgent, n: int = 15) -> None:
    at_officer, at_booth = session.frames, agent.sink.video_frames
    assert await session.sink.wait_video(frames=at_officer + n, within=15, size=(W, H))
    assert await agent.sink.wait_video(frames=at_booth + n, within=15, size=(W, H))


async def test_booth_and_officer_see_each_other_at_the_requested_size(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    agent = await make_booth(server.url)
    session = await _live(officer, agent)
    assert (session.sink.width, session.sink.height) == (W, H)
    assert (agent.sink.width, agent.sink.height) == (W, H)
    assert session.first_frame_s is not None and session.first_frame_s < 3.0
    assert agent.counters.offers_sent == 1 and agent.counters.answers_applied == 1
    assert agent.state.officer_name

    await officer.focus(session.session_id)
    assert await agent.wait_for(lambda a: a.state.focused, within=5)
    await officer.request_document(session.session_id, "ktp")
    assert await agent.wait_for(lambda a: a.state.document_kind == "ktp", within=5)
    assert isinstance(agent.source, SyntheticSource) and agent.source.document_kind == "ktp"

    ack = await officer.complete(session.session_id)
    assert ack.get("ok"), ack
    assert await agent.wait_for(lambda a: a.state.phase is Phase.ENDED, within=5)
    assert agent.pc is None and agent.session_id is None
    assert agent.source.document_kind is None


async def test_socket_drop_keeps_the_session_and_the_media(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    agent = await make_booth(server.url)
    session = await _live(officer, agent)
    session_id, offers = agent.session_id, agent.counters.offers_sent

    # Cut the WebSocket under python-socketio, as a network blip would.
    await agent.sio.eio.ws.close()
    assert await agent.wait_for(lambda a: a.counters.disconnects >= 1, within=5)
    await _more_frames(session, agent)  # media is peer to peer: it never stopped
    assert await agent.wait_for(lambda a: a.connected and a.counters.connects >= 2, within=10)
    await _more_frames(session, agent)
    assert agent.session_id == session_id and officer.sessions[session_id].live
    assert agent.counters.offers_sent == offers  # nothing renegotiated or duplicated
    assert agent.state.phase is Phase.IN_SESSION
    # The officer can still reach the booth through the server.
    await officer.focus(session_id)
    assert await agent.wait_for(lambda a: a.state.focused, within=5)


async def _serve(cfg: Any, store: Any, port: int | None = None) -> Any:
    """The production app on loopback, like tests.harness.start_server, but one that stops
    at once (a crash) instead of waiting for open WebSockets to wind down."""
    from aiohttp import web

    from booth_server.transport.app import create_app
    from tests.harness import RunningServer, free_port

    app = create_app(cfg, store=store)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return RunningServer(f"http://127.0.0.1:{port}", port, app, runner, cfg)


async def test_server_restart_keeps_the_session(
    tmp_path: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    from booth_server.transport.app import make_store
    from tests.harness import make_config

    cfg = make_config(tmp_path, offer_timeout_s=5.0, officer_grace_s=8.0, booth_grace_s=8.0)
    store = make_store(cfg)  # the state outlives the process, as Redis would
    running = await _serve(cfg, store)
    try:
        officer = await make_officer(running.url)
        agent = await make_booth(running.url, auto_ready=False, ticket="A-1")
        session = await _live(officer, agent)
        session_id = agent.session_id

        await running.stop()
        assert await agent.wait_for(lambda a: not a.connected, within=5)
        await _more_frames(session, agent)  # the media does not need the server
        running = await _serve(cfg, store, port=running.port)

        assert await agent.wait_for(lambda a: a.connected, within=10)
        assert await officer.wait_for(lambda o: "/cso" in o.sio.namespaces, within=10)
        await _more_frames(session, agent)
        assert agent.session_id == session_id
        assert agent.state.phase is Phase.IN_SESSION
        assert agent.counters.offers_sent == 1
        await officer.focus(session_id)
        assert await agent.wait_for(lambda a: a.state.focused, within=5)
        ack = await officer.complete(session_id)
        assert ack.get("ok"), ack
        assert await agent.wait_for(lambda a: a.state.phase is Phase.ENDED, within=5)
    finally:
        await running.stop()


async def test_peer_connection_failure_renegotiates_the_same_session(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    agent = await make_booth(server.url)
    session = await _live(officer, agent)
    session_id = agent.session_id

    await officer.drop_media(session.session_id)  # the console's connection dies
    assert await agent.wait_for(lambda a: a.counters.renegotiations >= 1, within=10)
    assert await officer.wait_for(lambda o: o.sessions[session_id].offers_answered >= 2, within=10)
    await _more_frames(session, agent)
    assert agent.session_id == session_id
    assert await agent.wait_for(lambda a: a.state.phase is Phase.IN_SESSION, within=5)


async def test_bad_server_messages_are_logged_and_survived(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    from booth_server.transport.app import SIO_KEY

    officer = await make_officer(server.url)
    agent = await make_booth(server.url)
    session = await _live(officer, agent)
    sid = session.session_id
    sio = server.app[SIO_KEY]

    async def to_booth(event: str, data: Any) -> None:
        await sio.emit(event, data, room="booth:langsa-01", namespace="/booth")

    before_invalid, before_ignored = (
        agent.counters.invalid_messages,
        agent.counters.ignored_messages,
    )
    await to_booth(
        "signal", {"session_id": "s-unknown", "description": {"type": "answer", "sdp": "v=0"}}
    )
    await to_booth("session_ended", {"session_id": "s-unknown", "reason": "x"})
    await to_booth("assigned", {"session_id": "s-unknown", "officer": {"id": "x", "name": "y"}})
    await to_booth("focus", {"session_id": sid, "focused": "yes"})
    await to_booth("document_requested", {"session_id": sid, "kind": "passport"})
    await to_booth("queued", "not an object")
    await to_booth("signal", {"session_id": sid, "candidate": {"candidate": "candidate:1 1 udp"}})
    await to_booth("signal", {"session_id": sid, "candidate": {"candidate": "x", "sdpMid": "0"}})
    # Malformed SDP relayed by the server from the officer, as both offer and answer.
    for kind in ("offer", "answer"):
        ack = await officer.call(
            "signal",
            {"session_id": sid, "description": {"type": kind, "sdp": "v=0\r\ngarbage\r\n"}},
        )
        assert ack.get("ok"), ack

    assert await agent.wait_for(
        lambda a: (
            a.counters.invalid_messages >= before_invalid + 6
            and a.counters.ignored_messages >= before_ignored + 3
        ),
        within=5,
    ), agent.counters
    await _more_frames(session, agent)
    assert agent.session_id == sid and agent.state.phase is Phase.IN_SESSION
    assert agent.counters.offers_sent == 1


async def test_camera_fault_is_reported_and_recovers(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    agent = await make_booth(server.url, "langsa-03", auto_ready=False)
    assert await agent.wait_for(lambda a: a.health_reported == "ok", within=5)

    async def booth_health() -> bool:
        async with aiohttp.ClientSession() as http:
            from tests.harness import login

            token = await login(server.url, "ops")
            async with http.get(
                f"{server.url}/api/occupancy", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                body = await response.json()
        (booth,) = [b for b in body["branches"][0]["booths"] if b["id"] == "langsa-03"]
        assert booth["state"] == "idle"
        return bool(booth["healthy"])

    assert await booth_health()
    assert isinstance(agent.source, SyntheticSource)
    agent.source.freeze()
    assert await agent.wait_for(lambda a: a.health_reported == "fault", within=5)
    assert not agent.state.camera_ok
    assert not await booth_health()
    agent.source.freeze(False)
    assert await agent.wait_for(lambda a: a.health_reported == "ok", within=5)
    assert await booth_health()
    assert agent.counters.health_reports == 3


async def test_start_button_sends_ready_once(server: Any, make_booth: BoothFactory) -> None:
    agent = await make_booth(server.url, "langsa-04", auto_ready=False)
    assert await agent.wait_for(lambda a: a.state.phase is Phase.IDLE, within=5)
    agent.press_start()
    agent.press_start()  # a double tap does not queue twice
    assert await agent.wait_for(lambda a: a.state.phase is Phase.QUEUED, within=5)
    assert agent.counters.ready_sent == 1
    assert agent.session_id is not None and agent.state.position == 1
