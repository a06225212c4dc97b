"""Booth kiosk ↔ real booth server ↔ headless officer, all on loopback with real aiortc."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from booth_client.officer_peer import OfficerPeer, OfficerSession
from booth_client.screen import Phase
from booth_client.session import BoothAgent
from booth_client.sources import SyntheticSource

from .conftest import BoothFactory, H, OfficerFactory, W

pytestmark = [pytest.mark.media, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


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


def _media_report(session: OfficerSession, agent: BoothAgent) -> str:
    return (
        f"officer got {session.sink.stats()} pc={session.pc and session.pc.connectionState}; "
        f"booth got {agent.sink.stats()} pc={agent.pc and agent.pc.connectionState} "
        f"sent={agent.video_track and agent.video_track.frames_sent} {agent.counters}"
    )


async def _more_frames(session: OfficerSession, agent: BoothAgent, n: int = 15) -> None:
    at_officer, at_booth = session.frames, agent.sink.video_frames
    assert await session.sink.wait_video(frames=at_officer + n, within=15, size=(W, H)), (
        _media_report(session, agent)
    )
    assert await agent.sink.wait_video(frames=at_booth + n, within=15, size=(W, H)), _media_report(
        session, agent
    )


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
    requested: list[tuple[str, str]] = []

    async def capture_pipeline(session_id: str, kind: str) -> None:  # the documents hook
        requested.append((session_id, kind))

    agent.on_document_requested = capture_pipeline
    await officer.request_document(session.session_id, "ktp")
    assert await agent.wait_for(lambda a: a.state.document_kind == "ktp", within=5)
    assert await agent.wait_for(lambda a: bool(requested), within=5)
    assert requested == [(session.session_id, "ktp")]
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


class ServerProcess:
    """``lapak-asik serve`` as a real process on Redis, so it can crash (SIGKILL) and come
    back on the same port with its state, as a production restart does."""

    def __init__(self, workdir: Path, redis_url: str) -> None:
        from tests.harness import free_port

        self.workdir = workdir  # var/documents lands here, not in the repository
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "booth_server", "serve",
            "--config", str(REPO / "config" / "default.toml"),
            "--port", str(self.port), "--redis", self.redis_url, "--log-level", "WARNING",
            cwd=self.workdir,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/api/health") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError("lapak-asik serve did not come up")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.mark.redis
async def test_server_restart_keeps_the_session(
    tmp_path: Path, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    from tests.redis_server import available, redis_server

    if not available():
        pytest.skip("needs redis-server")
    with redis_server() as redis:
        server = ServerProcess(tmp_path, redis.url)
        await server.start()
        try:
            officer = await make_officer(server.url)
            agent = await make_booth(server.url, auto_ready=False, ticket="A-1")
            session = await _live(officer, agent)
            session_id = agent.session_id

            await server.kill()  # a crash: no goodbye to anyone
            assert await agent.wait_for(lambda a: not a.connected, within=10)
            await _more_frames(session, agent)  # the media does not need the server
            await server.start()

            assert await agent.wait_for(lambda a: a.connected, within=15)
            assert await officer.wait_for(lambda o: "/cso" in o.sio.namespaces, within=15)
            await _more_frames(session, agent)
            assert agent.session_id == session_id
            assert agent.state.phase is Phase.IN_SESSION
            # The officer's reconnect reaches the booth as a resumed ``assigned`` (the server
            # cannot tell it from a console reload), which is answered with one fresh offer.
            assert agent.counters.offers_sent <= 2
            await officer.focus(session_id)
            assert await agent.wait_for(lambda a: a.state.focused, within=5)
            ack = await officer.complete(session_id)
            assert ack.get("ok"), ack
            assert await agent.wait_for(lambda a: a.state.phase is Phase.ENDED, within=5)
        finally:
            await server.kill()


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


async def test_network_blip_renegotiates_after_the_media_stalls(
    server: Any, make_booth: BoothFactory, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    agent = await make_booth(server.url, media_stall_s=2.0)
    session = await _live(officer, agent)
    session_id = agent.session_id

    await officer.cut_media(session.session_id)  # packets stop; nobody says goodbye
    assert await agent.wait_for(lambda a: a.counters.renegotiations >= 1, within=8)
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
