"""A headless officer (CSO) in Python, for tests, demos and load: it logs in, goes available,
accepts offered sessions, answers each booth's WebRTC offer with its own small synthetic
video, and counts what it receives per session (and how long from ``accept`` to the first
decoded frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription

from booth_client import ice, messages
from booth_client.media import SourceVideoTrack, TrackSink, silence_track
from booth_client.sources import FrameSource, SyntheticSource
from booth_client.waiting import wait_until

log = logging.getLogger(__name__)

NAMESPACE = "/cso"


class LoginError(RuntimeError):
    pass


@dataclass
class OfficerSession:
    session_id: str
    booth_id: str | None = None
    offered_at: float | None = None
    accepted_at: float | None = None
    started_at: float | None = None
    ended_reason: str | None = None
    ice_servers: list[Any] = field(default_factory=list)
    pc: RTCPeerConnection | None = None
    sink: TrackSink = field(default_factory=lambda: TrackSink("booth"))
    offers_answered: int = 0
    candidates_applied: int = 0
    documents_ready: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.sink.video_frames

    @property
    def first_frame_s(self) -> float | None:
        """Seconds from our ``accept`` to the first decoded video frame from the booth."""
        if self.accepted_at is None or self.sink.first_video_at is None:
            return None
        return self.sink.first_video_at - self.accepted_at

    @property
    def live(self) -> bool:
        return self.ended_reason is None


async def login(server_url: str, username: str, password: str) -> dict[str, Any]:
    """``POST /api/login`` → the response body (``token``, ``role``, …)."""
    url = server_url.rstrip("/") + "/api/login"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"username": username, "password": password}) as response,
    ):
        try:
            body: dict[str, Any] = await response.json()
        except (aiohttp.ContentTypeError, ValueError):
            body = {}
        if response.status != 200 or not isinstance(body.get("token"), str):
            raise LoginError(f"login as {username} failed ({response.status}): {body}")
        return body


class OfficerPeer:
    """One officer console without a browser."""

    def __init__(
        self,
        server_url: str,
        username: str,
        password: str = "demo",
        *,
        width: int = 320,
        height: int = 240,
        fps: float = 15.0,
        auto_accept: bool = True,
        source: FrameSource | None = None,
        on_offer: Callable[[Mapping[str, Any]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.server_url = server_url
        self.username = username
        self.password = password
        self.width, self.height, self.fps = width, height, fps
        self.auto_accept = auto_accept
        self.on_offer = on_offer
        self.source: FrameSource = source or SyntheticSource(
            width, height, fps, label=f"CSO {username}"
        )
        self._own_source = source is None
        self.token: str | None = None
        self.officer_id: str | None = None
        self.sessions: dict[str, OfficerSession] = {}
        self.offers_received = 0
        self.states_received = 0
        self.invalid_messages = 0
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=0.3,
            reconnection_delay_max=2.0,
            logger=False,
            engineio_logger=False,
        )
        for event in (
            "offer",
            "offer_withdrawn",
            "session_started",
            "signal",
            "session_ended",
            "state",
            "document_ready",
        ):
            self.sio.on(event, self._enqueuer(event), namespace=NAMESPACE)
        self.sio.on("connect", self._enqueuer("_connected"), namespace=NAMESPACE)

    def _enqueuer(self, event: str) -> Callable[..., Awaitable[None]]:
        async def handler(data: Any = None, *_: Any) -> None:
            self._inbox.put_nowait((event, data))

        return handler

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        body = await login(self.server_url, self.username, self.password)
        self.token = body["token"]
        officer_id = body.get("officer_id")
        self.officer_id = officer_id if isinstance(officer_id, str) else None
        if self._own_source:
            self.source.start()
        self._dispatcher = asyncio.ensure_future(self._dispatch())
        await self.sio.connect(
            self.server_url,
            namespaces=[NAMESPACE],
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        for session in self.sessions.values():
            await self._close_pc(session)
            await session.sink.stop()
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        if self._own_source:
            await asyncio.to_thread(self.source.stop)

    async def __aenter__(self) -> OfficerPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- commands -------------------------------------------------------------------------
    async def call(self, event: str, data: Any, ack_timeout_s: float = 10.0) -> Any:
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=ack_timeout_s)

    async def set_status(self, status: str) -> Any:
        return await self.call("set_status", {"status": status})

    async def accept(self, session_id: str) -> Any:
        session = self.sessions.setdefault(session_id, OfficerSession(session_id))
        session.accepted_at = time.monotonic()
        return await self.call("accept", {"session_id": session_id})

    async def complete(self, session_id: str, outcome: str = "claim_submitted") -> Any:
        return await self.call("complete", {"session_id": session_id, "outcome": outcome})

    async def request_document(self, session_id: str, kind: str) -> Any:
        return await self.call("request_document", {"session_id": session_id, "kind": kind})

    async def focus(self, session_id: str | None) -> Any:
        return await self.call("focus", {"session_id": session_id})

    async def drop_media(self, session_id: str) -> None:
        """Close this side's peer connection without signaling (a crashed console tab)."""
        session = self.sessions.get(session_id)
        if session is not None:
            await self._close_pc(session)

    async def cut_media(self, session_id: str) -> None:
        """Stop this side's ICE transport without any goodbye: packets simply stop, as when
        a network link dies. The peer connection object stays, broken."""
        session = self.sessions.get(session_id)
        if session is None or session.pc is None:
            return
        for transceiver in session.pc.getTransceivers():
            await transceiver.receiver.transport.transport.stop()

    # -- waiting helpers for tests --------------------------------------------------------
    async def wait_for(self, predicate: Callable[[OfficerPeer], bool], within: float) -> bool:
        return await wait_until(lambda: predicate(self), self._changed, within)

    def live_sessions(self) -> list[OfficerSession]:
        return [s for s in self.sessions.values() if s.live and s.started_at is not None]

    # -- dispatcher -----------------------------------------------------------------------
    async def _dispatch(self) -> None:
        handlers: dict[str, Callable[[Any], Awaitable[None]]] = {
            "_connected": self._on_connected,
            "offer": self._on_offer,
            "offer_withdrawn": self._on_offer_withdrawn,
            "session_started": self._on_session_started,
            "signal": self._on_signal,
            "session_ended": self._on_session_ended,
            "state": self._on_state,
            "document_ready": self._on_document_ready,
        }
        while True:
            event, data = await self._inbox.get()
            try:
                await handlers[event](data)
            except Exception as exc:
                self.invalid_messages += 1
                log.warning("officer %s: %s handling failed: %s", self.username, event, exc)
            self._changed.set()

    async def _on_connected(self, _: Any) -> None:
        ack = await self.set_status("available")
        if not (isinstance(ack, Mapping) and ack.get("ok")):
            log.warning("officer %s: set_status refused: %s", self.username, ack)

    async def _on_state(self, data: Any) -> None:
        self.states_received += 1

    async def _on_offer(self, data: Any) -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("session_id"), str):
            raise messages.InvalidMessage("offer: session_id missing")
        self.offers_received += 1
        session_id = data["session_id"]
        session = self.sessions.setdefault(session_id, OfficerSession(session_id))
        session.offered_at = time.monotonic()
        booth = data.get("booth")
        if isinstance(booth, Mapping) and isinstance(booth.get("id"), str):
            session.booth_id = booth["id"]
        if self.on_offer is not None:
            result = self.on_offer(data)
            if asyncio.iscoroutine(result):
                await result
        if self.auto_accept:
            ack = await self.accept(session_id)
            if not (isinstance(ack, Mapping) and ack.get("ok")):
                log.warning("officer %s: accept %s refused: %s", self.username, session_id, ack)

    async def _on_offer_withdrawn(self, data: Any) -> None:
        if isinstance(data, Mapping) and isinstance(data.get("session_id"), str):
            session = self.sessions.get(data["session_id"])
            if session is not None and session.started_at is None:
                session.ended_reason = f"withdrawn: {data.get('reason')}"

    async def _on_session_started(self, data: Any) -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("session_id"), str):
            raise messages.InvalidMessage("session_started: session_id missing")
        session = self.sessions.setdefault(data["session_id"], OfficerSession(data["session_id"]))
        if session.started_at is None:
            session.started_at = time.monotonic()
        session.ended_reason = None
        servers = data.get("ice_servers")
        session.ice_servers = servers if isinstance(servers, list) else []
        booth = data.get("booth")
        if isinstance(booth, Mapping) and isinstance(booth.get("id"), str):
            session.booth_id = booth["id"]

    async def _on_signal(self, data: Any) -> None:
        msg = messages.parse_signal(data)
        session = self.sessions.get(msg.session_id)
        if session is None:
            raise messages.InvalidMessage(f"signal for unknown session {msg.session_id}")
        if msg.description is not None:
            if msg.description.type != "offer":
                raise messages.InvalidMessage("the booth must send offers, got an answer")
            await self._answer(session, msg.description.sdp)
        if msg.has_candidate and session.pc is not None:
            candidate = None if msg.candidate is None else ice.candidate_from_wire(msg.candidate)
            await session.pc.addIceCandidate(candidate)
            session.candidates_applied += 1

    async def _answer(self, session: OfficerSession, sdp: str) -> None:
        # A new offer for a known session is the booth renegotiating: start afresh.
        await self._close_pc(session)
        pc = RTCPeerConnection(ice.rtc_configuration(session.ice_servers))
        session.pc = pc
        pc.addTrack(
            SourceVideoTrack(self.source, fps=self.fps, width=self.width, height=self.height)
        )
        pc.addTrack(silence_track())

        @pc.on("track")
        def on_track(track: Any) -> None:
            session.sink.add(track)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        if session.pc is not pc:
            return
        answer = pc.localDescription
        await self.sio.emit(
            "signal",
            {
                "session_id": session.session_id,
                "description": {"type": answer.type, "sdp": answer.sdp},
            },
            namespace=NAMESPACE,
        )
        await self.sio.emit(
            "signal", {"session_id": session.session_id, "candidate": None}, namespace=NAMESPACE
        )
        session.offers_answered += 1

    async def _on_session_ended(self, data: Any) -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("session_id"), str):
            raise messages.InvalidMessage("session_ended: session_id missing")
        session = self.sessions.get(data["session_id"])
        if session is None:
            return
        session.ended_reason = str(data.get("reason"))
        await self._close_pc(session)

    async def _on_document_ready(self, data: Any) -> None:
        if isinstance(data, Mapping) and isinstance(data.get("session_id"), str):
            session = self.sessions.get(data["session_id"])
            if session is not None:
                session.documents_ready.append(data)

    async def _close_pc(self, session: OfficerSession) -> None:
        pc, session.pc = session.pc, None
        if pc is None:
            return
        for sender in pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        with contextlib.suppress(Exception):
            await pc.close()
