"""The booth agent: the kiosk's side of a visit, from ``ready`` to ``session_ended``.

Socket.IO handlers only validate and enqueue; one dispatcher task applies events in order,
so a ``signal`` can never overtake the ``assigned`` it belongs to and nothing else touches
the peer connection. The booth is always the offerer. Recovery never needs the participant:

- socket lost: python-socketio reconnects with backoff; the media keeps flowing peer to peer.
  After a reconnect the server replays the booth's state; if it replays nothing within
  ``replay_wait_s`` while a session is open, ``ready`` is sent again (the server answers
  ``ready`` idempotently for a booth that already has a live session, and queues the booth
  again if it lost the session, e.g. after an in-memory restart).
- peer connection ``failed``, closed by the far end, or not connected within
  ``negotiation_timeout_s``: a new RTCPeerConnection and a new offer for the same session,
  with backoff between attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from booth_client import ice, messages
from booth_client.capture import UploadRefused
from booth_client.media import (
    Microphone,
    SourceVideoTrack,
    Speaker,
    TrackSink,
    find_speaker,
    open_microphone,
    silence_track,
)
from booth_client.screen import KioskScreen, KioskState, Phase, review_text
from booth_client.sources import DocumentDisplay, FrameSource
from booth_client.waiting import wait_until

log = logging.getLogger(__name__)

NAMESPACE = "/booth"

DocumentHook = Callable[[str, str], Awaitable[None] | None]
# (session_id, document_id, status, reason) of a ``document_reviewed``.
ReviewHook = Callable[[str, str, str, str | None], None]


def sdp_problem(sdp: str) -> str | None:
    """Why ``sdp`` cannot describe a WebRTC peer, or None if it looks usable."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:
        return f"unparsable ({type(exc).__name__}: {exc})"
    if not parsed.media:
        return "no media sections"
    for media in parsed.media:
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            return f"media {media.kind}: no ICE credentials"
        if media.dtls is None or not media.dtls.fingerprints:
            return f"media {media.kind}: no DTLS fingerprint"
    return None


class FatalConnectError(RuntimeError):
    """The server refused the booth's credentials; retrying will not help."""


@dataclass
class BoothConfig:
    server_url: str
    booth_id: str
    token: str
    auto_ready: bool = False
    ticket: str | None = None
    ice_host: str | None = None
    width: int = 640
    height: int = 480
    fps: float = 30.0
    microphone: bool = True
    speaker: bool = True
    reconnect_delay_s: float = 0.5
    reconnect_delay_max_s: float = 5.0
    connect_timeout_s: float = 10.0
    ack_timeout_s: float = 10.0
    replay_wait_s: float = 1.0
    negotiation_timeout_s: float = 15.0
    renegotiate_delay_max_s: float = 10.0
    # No audio or video from the officer for this long on a "connected" peer connection is
    # a network blip that ICE consent checks would only notice after ~30 s: renegotiate.
    media_stall_s: float = 6.0
    health_interval_s: float = 0.5
    ended_display_s: float = 5.0
    next_participant_delay_s: float = 5.0
    screen_fps: float = 15.0
    stats_interval_s: float = 0.0  # > 0: log media statistics this often


@dataclass
class BoothCounters:
    """What happened, for tests, logs and the benchmark."""

    connects: int = 0
    disconnects: int = 0
    offers_sent: int = 0
    answers_applied: int = 0
    candidates_applied: int = 0
    renegotiations: int = 0
    ready_sent: int = 0
    invalid_messages: int = 0
    ignored_messages: int = 0
    health_reports: int = 0
    sessions_ended: int = 0


class BoothAgent:
    """One kiosk's connection to the booth server and its peer connection to the officer."""

    def __init__(
        self,
        config: BoothConfig,
        source: FrameSource,
        *,
        screen: KioskScreen | None = None,
        on_document_requested: DocumentHook | None = None,
        on_document_reviewed: ReviewHook | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.screen = screen
        if screen is not None:
            screen.on_start = self.press_start
        self.on_document_requested = on_document_requested
        self.on_document_reviewed = on_document_reviewed
        self.state = KioskState()
        self.session_id: str | None = None
        self.officer_name: str | None = None
        self.officer_id: str | None = None
        self.sink = TrackSink("officer")
        self.counters = BoothCounters()
        self.pc: RTCPeerConnection | None = None
        self.video_track: SourceVideoTrack | None = None
        self.health_reported: str | None = None
        self.last_error: str | None = None
        self.fatal_error: str | None = None
        self._ice_servers: list[Any] = []
        self._generation = 0
        self._remote_description_set = False
        self._pending_candidates: list[Mapping[str, Any] | None] = []
        self._renegotiate_attempts = 0
        self._renegotiate_timer: asyncio.Task[None] | None = None
        self._negotiation_timer: asyncio.Task[None] | None = None
        self._replayed_since_connect = False
        self._ready_inflight = False
        self._ticket_pending = config.ticket
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._microphone: Microphone | None = None
        self._speaker: Speaker | None = None
        self._media_seen = (0, time.monotonic())
        self._media_at_pc_start = 0
        self._closing = False
        self._closed = asyncio.Event()
        self._state_changed = asyncio.Event()
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=config.reconnect_delay_s,
            reconnection_delay_max=config.reconnect_delay_max_s,
            randomization_factor=0.5,
            logger=False,
            engineio_logger=False,
        )
        for event in (
            "queued",
            "assigned",
            "signal",
            "focus",
            "document_requested",
            "document_reviewed",
            "session_ended",
        ):
            self.sio.on(event, self._enqueuer(event), namespace=NAMESPACE)
        self.sio.on("connect", self._on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the source, open the microphone, connect (retrying until the server answers)."""
        if self.config.ice_host:
            ice.restrict_host_candidates(self.config.ice_host)
        self.source.start()
        if self.config.microphone:
            self._microphone = await open_microphone()
        if self.config.speaker:
            self._speaker = find_speaker()
        self._spawn(self._dispatch(), "dispatch")
        self._spawn(self._health_watchdog(), "health")
        if self.screen is not None and not self.screen.headless:
            self._spawn(self._screen_loop(), "screen")
        if self.config.stats_interval_s > 0:
            self._spawn(self._stats_logger(self.config.stats_interval_s), "stats")
        await self._connect_with_backoff()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (SIGTERM in the CLI), then release everything."""
        try:
            connect = asyncio.ensure_future(self.start())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({connect, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if connect in done:
                connect.result()  # a fatal connect error propagates
                await stopper
            else:
                connect.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connect
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop tracks, close the peer connection, release the camera, disconnect."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._close_pc()
            await self.sink.stop()
            if self._microphone is not None:
                self._microphone.close()
            if self._speaker is not None:
                await self._speaker.stop()
            await asyncio.to_thread(self.source.stop)
            with contextlib.suppress(Exception):
                await self.sio.disconnect()
            if self.screen is not None:
                self.screen.close()
        finally:
            self._closed.set()
            log.info("booth %s closed", self.config.booth_id)

    async def _connect_with_backoff(self) -> None:
        delay = self.config.reconnect_delay_s
        while not self._closing:
            self.fatal_error = None
            try:
                await self.sio.connect(
                    self.config.server_url,
                    namespaces=[NAMESPACE],
                    auth={"booth_id": self.config.booth_id, "token": self.config.token},
                    transports=["websocket"],
                    wait_timeout=self.config.connect_timeout_s,
                )
                return
            except socketio.exceptions.ConnectionError as exc:
                if self.fatal_error is not None:
                    raise FatalConnectError(self.fatal_error) from exc
                log.warning(
                    "cannot reach %s (%s); retrying in %.1f s", self.config.server_url, exc, delay
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_delay_max_s)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(f"booth-{self.config.booth_id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s crashed", task.get_name(), exc_info=task.exception())

    # -- state ----------------------------------------------------------------------------
    def _set_state(self, **changes: Any) -> None:
        new = self.state.evolve(**changes)
        if new != self.state:
            self.state = new
            log.debug("state %s", new)
            self._state_changed.set()

    async def wait_for(self, predicate: Callable[[BoothAgent], bool], within: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked on every state change and 10×/s)."""
        return await wait_until(lambda: predicate(self), self._state_changed, within)

    @property
    def connected(self) -> bool:
        # Not ``sio.connected``: python-socketio sets that only once ``connect()`` returns,
        # after the namespace's connect handler has already run.
        return NAMESPACE in self.sio.namespaces

    # -- socket events (run in python-socketio's tasks: validate-free, just enqueue) ------
    def _enqueuer(self, event: str) -> Callable[..., Awaitable[None]]:
        async def handler(data: Any = None, *_: Any) -> None:
            self._inbox.put_nowait((event, data))

        return handler

    async def _on_connect(self) -> None:
        self.counters.connects += 1
        self._inbox.put_nowait(("_connected", None))

    async def _on_disconnect(self, *args: Any) -> None:
        self.counters.disconnects += 1
        self._inbox.put_nowait(("_disconnected", args[0] if args else None))

    async def _on_connect_error(self, data: Any = None) -> None:
        text = str(data)
        self.last_error = text
        if any(code in text for code in ("unauthorized", "forbidden")):
            self.fatal_error = f"server refused booth {self.config.booth_id}: {text}"
        log.warning("connect refused: %s", text)

    # -- dispatcher -----------------------------------------------------------------------
    async def _dispatch(self) -> None:
        handlers: dict[str, Callable[[Any], Awaitable[None]]] = {
            "queued": self._handle_queued,
            "assigned": self._handle_assigned,
            "signal": self._handle_signal,
            "focus": self._handle_focus,
            "document_requested": self._handle_document_requested,
            "document_reviewed": self._handle_document_reviewed,
            "session_ended": self._handle_session_ended,
            "_connected": self._handle_connected,
            "_disconnected": self._handle_disconnected,
            "_replay_check": self._handle_replay_check,
            "_ready_ack": self._handle_ready_ack,
            "_pc_state": self._handle_pc_state,
            "_renegotiate": self._handle_renegotiate,
            "_back_to_idle": self._handle_back_to_idle,
        }
        while True:
            event, data = await self._inbox.get()
            try:
                await handlers[event](data)
            except messages.InvalidMessage as exc:
                self.counters.invalid_messages += 1
                log.warning("ignored invalid %s from server: %s", event, exc)
            except Exception:
                # One bad message must never take the kiosk down.
                self.counters.invalid_messages += 1
                log.exception("handling %s failed; continuing", event)

    def _is_current(self, session_id: str, event: str) -> bool:
        if session_id == self.session_id:
            return True
        self.counters.ignored_messages += 1
        log.warning(
            "ignored %s for unknown session %s (current %s)", event, session_id, self.session_id
        )
        return False

    async def _handle_connected(self, _: Any) -> None:
        log.info("booth %s connected to %s", self.config.booth_id, self.config.server_url)
        if self.state.phase in (Phase.CONNECTING, Phase.RECONNECTING) and self.session_id is None:
            self._set_state(phase=Phase.IDLE)
        self.health_reported = None  # report afresh: the server may have restarted
        await self._report_health()
        if self.session_id is not None:
            self._later(self.config.replay_wait_s, ("_replay_check", None))
        elif self._ticket_pending or self.config.auto_ready:
            self._start_ready()

    async def _handle_disconnected(self, reason: Any) -> None:
        log.warning("booth %s lost the server (%s); reconnecting", self.config.booth_id, reason)
        # Reset here, not on connect: the server replays state during its connect handler,
        # so a replayed event can arrive before our own connect event does.
        self._replayed_since_connect = False
        if self.session_id is None and not self._closing:
            self._set_state(phase=Phase.CONNECTING)

    async def _handle_replay_check(self, _: Any) -> None:
        if self._replayed_since_connect or self.session_id is None or not self.connected:
            return
        # The server said nothing about our session: ask again (idempotent on the server).
        log.info("no state replayed for session %s; sending ready again", self.session_id)
        self._start_ready()
        live = self.state.phase in (Phase.ASSIGNED, Phase.IN_SESSION, Phase.RECONNECTING)
        if live and (self.pc is None or self.pc.connectionState != "connected"):
            await self._renegotiate_now("reconnected with media down")

    # -- ready ----------------------------------------------------------------------------
    def press_start(self) -> None:
        """The kiosk's MULAI button (or Enter)."""
        if self.state.phase in (Phase.IDLE, Phase.ENDED) and self.session_id is None:
            self._start_ready()

    def _start_ready(self) -> None:
        if self._ready_inflight or not self.connected:
            return
        self._ready_inflight = True
        payload: dict[str, Any] = {}
        ticket = self._ticket_pending
        if ticket:
            payload["ticket"] = ticket
        self._spawn(self._send_ready(payload), "ready")

    async def _send_ready(self, payload: dict[str, Any]) -> None:
        try:
            self.counters.ready_sent += 1
            ack = await self.sio.call(
                "ready", payload, namespace=NAMESPACE, timeout=self.config.ack_timeout_s
            )
            self._inbox.put_nowait(("_ready_ack", (payload, ack)))
        except Exception as exc:
            log.warning("ready failed: %r", exc)
        finally:
            self._ready_inflight = False

    async def _handle_ready_ack(self, data: tuple[dict[str, Any], Any]) -> None:
        payload, raw = data
        ack = messages.parse_ready_ack(raw)
        if isinstance(ack, messages.ErrorAck):
            log.warning("server refused ready: %s %s", ack.code, ack.message)
            return
        if payload.get("ticket") == self._ticket_pending:
            self._ticket_pending = None
        self._replayed_since_connect = True
        if ack.session_id != self.session_id:
            if self.session_id is not None:
                log.warning("server replaced session %s by %s", self.session_id, ack.session_id)
                await self._end_session_locally()
            self.session_id = ack.session_id
        if self.state.phase not in (Phase.ASSIGNED, Phase.IN_SESSION, Phase.RECONNECTING):
            self._set_state(
                phase=Phase.QUEUED,
                session_id=ack.session_id,
                position=ack.position,
                ticket=payload.get("ticket"),
            )

    # -- server events --------------------------------------------------------------------
    async def _handle_queued(self, data: Any) -> None:
        msg = messages.parse_queued(data)
        if self.session_id is None:
            self.session_id = msg.session_id
        if not self._is_current(msg.session_id, "queued"):
            return
        self._replayed_since_connect = True
        if self.pc is not None:
            # Back in the queue (the officer was lost): the media of the old pairing is over.
            log.info("session %s requeued; closing the peer connection", msg.session_id)
            await self._close_pc()
            self.sink.clear_picture()
        self._set_state(
            phase=Phase.QUEUED, session_id=msg.session_id, position=msg.position, document_kind=None
        )

    async def _handle_assigned(self, data: Any) -> None:
        msg = messages.parse_assigned(data)
        if self.session_id is None:
            self.session_id = msg.session_id
        if not self._is_current(msg.session_id, "assigned"):
            return
        # The first replay after our own socket came back: the server resends ``assigned``
        # (resumed) because *we* reconnected, and peer-to-peer media survives that. Any other
        # ``resumed`` means the officer's console reloaded or the session was transferred.
        own_replay = not self._replayed_since_connect
        self._replayed_since_connect = True
        if msg.ice_servers is not None:
            self._ice_servers = msg.ice_servers
        same_officer = msg.officer_id is None or msg.officer_id == self.officer_id
        self.officer_name = msg.officer_name
        self.officer_id = msg.officer_id
        connected = self.pc is not None and self.pc.connectionState == "connected"
        if same_officer and connected and (
            not msg.resumed or own_replay or await self._officer_media_flowing()
        ):
            # A resumed ``assigned`` while the officer's media still arrives is a signaling
            # blip of the console (its peer connection is alive): renegotiating would only
            # freeze the video. A reloaded console's media stops at once, so it is re-offered.
            log.info("assigned repeated for session %s; media is up, nothing to do", msg.session_id)
            self._set_state(officer_name=msg.officer_name)
            return
        if msg.resumed and self.pc is not None:
            # The officer's console reloaded or reconnected, or the session was transferred:
            # the old connection's ICE can look "connected" for ~30 s after the officer's page
            # died, so it is torn down and a fresh offer made at once.
            log.info("session %s resumed by the server; making a fresh offer", msg.session_id)
            self.counters.renegotiations += 1
        self._set_state(
            phase=Phase.ASSIGNED,
            session_id=msg.session_id,
            officer_name=msg.officer_name,
            position=None,
        )
        self._renegotiate_attempts = 0
        await self._negotiate("assigned")

    async def _officer_media_flowing(self, settle_s: float = 0.3, window_s: float = 0.5) -> bool:
        """Whether frames from the officer keep arriving (video or audio, over `window_s`).

        `settle_s` first lets the frames a just-closed console had in flight land: a reload
        reaches us within a few hundred milliseconds, while its last packets still arrive."""
        await asyncio.sleep(settle_s)
        before = self.sink.video_frames + self.sink.audio_frames
        await asyncio.sleep(window_s)
        return self.sink.video_frames + self.sink.audio_frames > before

    async def _handle_signal(self, data: Any) -> None:
        msg = messages.parse_signal(data)
        if not self._is_current(msg.session_id, "signal"):
            return
        pc = self.pc
        if msg.description is not None:
            await self._apply_description(msg.description)
        if msg.has_candidate:
            if pc is None or not self._remote_description_set:
                self._pending_candidates.append(msg.candidate)
            else:
                await self._apply_candidate(msg.candidate)

    async def _apply_description(self, description: messages.Description) -> None:
        problem = sdp_problem(description.sdp)
        if problem is not None:
            # Checked before touching the peer connection: garbage must not end working media.
            self.counters.invalid_messages += 1
            log.warning("ignored an %s with unusable SDP: %s", description.type, problem)
            return
        pc = self.pc
        if description.type == "answer":
            if pc is None or pc.signalingState != "have-local-offer":
                self.counters.ignored_messages += 1
                log.warning("ignored an answer with no offer outstanding")
                return
            try:
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=description.sdp, type="answer")
                )
            except Exception as exc:
                self.counters.invalid_messages += 1
                log.warning("officer's answer rejected (%s); will renegotiate", exc)
                self._schedule_renegotiate("malformed answer")
                return
            self.counters.answers_applied += 1
        else:
            # The officer offered (its own ICE restart): answer on a fresh connection.
            log.info("officer sent an offer; answering")
            pc = await self._new_pc()
            try:
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=description.sdp, type="offer")
                )
                await pc.setLocalDescription(await pc.createAnswer())
            except Exception as exc:
                self.counters.invalid_messages += 1
                log.warning("officer's offer rejected (%s); will renegotiate", exc)
                self._schedule_renegotiate("malformed offer")
                return
            await self._emit_description(pc)
        self._remote_description_set = True
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate in pending:
            await self._apply_candidate(candidate)

    async def _apply_candidate(self, data: Mapping[str, Any] | None) -> None:
        pc = self.pc
        if pc is None:
            return
        try:
            candidate = None if data is None else ice.candidate_from_wire(data)
            await pc.addIceCandidate(candidate)
        except Exception as exc:
            self.counters.invalid_messages += 1
            log.warning("ignored ICE candidate %r: %s", data, exc)
            return
        self.counters.candidates_applied += 1

    async def _handle_focus(self, data: Any) -> None:
        msg = messages.parse_focus(data)
        if self._is_current(msg.session_id, "focus"):
            self._set_state(focused=msg.focused)

    async def _handle_document_requested(self, data: Any) -> None:
        msg = messages.parse_document_requested(data)
        if not self._is_current(msg.session_id, "document_requested"):
            return
        self._set_state(document_kind=msg.kind, review=None, guidance=None)
        if isinstance(self.source, DocumentDisplay):
            self.source.show_document(msg.kind)
        if self.on_document_requested is not None:
            result = self.on_document_requested(msg.session_id, msg.kind)
            if inspect.isawaitable(result):
                self._spawn(result, "document")

    async def _handle_document_reviewed(self, data: Any) -> None:
        msg = messages.parse_document_reviewed(data)
        if not self._is_current(msg.session_id, "document_reviewed"):
            return
        text = review_text(msg.status, msg.reason)
        if msg.status == "approved":
            self._set_state(review=text, document_kind=None, guidance=None)
            if isinstance(self.source, DocumentDisplay):
                self.source.show_document(None)
        else:
            self._set_state(review=text)
        if self.on_document_reviewed is not None:
            self.on_document_reviewed(msg.session_id, msg.document_id, msg.status, msg.reason)

    async def _handle_session_ended(self, data: Any) -> None:
        msg = messages.parse_session_ended(data)
        if not self._is_current(msg.session_id, "session_ended"):
            return
        log.info("session %s ended: %s", msg.session_id, msg.reason)
        self.counters.sessions_ended += 1
        await self._end_session_locally()
        self._set_state(phase=Phase.ENDED, end_reason=msg.reason)
        self._later(self.config.ended_display_s, ("_back_to_idle", None))
        if self.config.auto_ready:
            self._later(self.config.next_participant_delay_s, ("_back_to_idle", "ready"))

    async def _handle_back_to_idle(self, then: Any) -> None:
        if self.session_id is None and self.state.phase is Phase.ENDED:
            self._set_state(phase=Phase.IDLE, end_reason=None)
        if then == "ready" and self.session_id is None and self.state.phase is Phase.IDLE:
            self._start_ready()

    async def _end_session_locally(self) -> None:
        await self._close_pc()
        self.sink.clear_picture()
        self.session_id = None
        self.officer_name = None
        self.officer_id = None
        self._ice_servers = []
        if isinstance(self.source, DocumentDisplay):
            self.source.show_document(None)
        self._set_state(
            session_id=None,
            position=None,
            officer_name=None,
            focused=False,
            document_kind=None,
            review=None,
            guidance=None,
        )

    # -- the peer connection --------------------------------------------------------------
    async def _new_pc(self) -> RTCPeerConnection:
        await self._close_pc()
        self._generation += 1
        generation = self._generation
        pc = RTCPeerConnection(ice.rtc_configuration(self._ice_servers))
        self.pc = pc
        self._media_at_pc_start = self.sink.video_frames + self.sink.audio_frames
        self._remote_description_set = False
        self.video_track = SourceVideoTrack(
            self.source, fps=self.config.fps, width=self.config.width, height=self.config.height
        )
        pc.addTrack(self.video_track)
        pc.addTrack(self._microphone.track() if self._microphone is not None else silence_track())

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio" and self._speaker is not None:
                self._spawn(self._play_or_consume(track), "speaker")
            else:
                self.sink.add(track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self._inbox.put_nowait(("_pc_state", (generation, pc.connectionState)))

        self._cancel_timer("_negotiation_timer")
        self._negotiation_timer = self._later(
            self.config.negotiation_timeout_s, ("_pc_state", (generation, "timeout"))
        )
        return pc

    async def _play_or_consume(self, track: Any) -> None:
        assert self._speaker is not None
        if not await self._speaker.play(track):
            self.sink.add(track)  # no output device after all: still read it

    async def _negotiate(self, reason: str) -> None:
        """A new peer connection and a new offer for the current session."""
        session_id = self.session_id
        if session_id is None:
            return
        if not self.connected:
            log.info("cannot offer while disconnected (%s); will retry on reconnect", reason)
            self._schedule_renegotiate(reason)
            return
        pc = await self._new_pc()
        await pc.setLocalDescription(await pc.createOffer())  # gathers candidates (host only, fast)
        if self.pc is not pc:
            return
        self._pending_candidates = []
        if await self._emit_description(pc):
            self.counters.offers_sent += 1
            log.info("offer sent for session %s (%s)", session_id, reason)

    async def _emit_description(self, pc: RTCPeerConnection) -> bool:
        description = pc.localDescription
        sent = await self._emit(
            "signal",
            {
                "session_id": self.session_id,
                "description": {"type": description.type, "sdp": description.sdp},
            },
        )
        if sent:
            # aiortc puts every candidate in the SDP; tell browsers there are no more.
            await self._emit("signal", {"session_id": self.session_id, "candidate": None})
        return sent

    async def _close_pc(self) -> None:
        self._cancel_timer("_negotiation_timer")
        pc, self.pc = self.pc, None
        self.video_track = None
        if pc is None:
            return
        for sender in pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        with contextlib.suppress(Exception):
            await pc.close()

    async def _handle_pc_state(self, data: tuple[int, str]) -> None:
        generation, state = data
        if generation != self._generation or self.pc is None or self.session_id is None:
            return
        log.info("peer connection %d: %s", generation, state)
        if state == "connected":
            self._cancel_timer("_negotiation_timer")
            self._renegotiate_attempts = 0
            self._set_state(phase=Phase.IN_SESSION)
        elif state in ("failed", "closed"):
            # "closed" without us closing it: the officer's side hung up the media.
            self._set_state(phase=Phase.RECONNECTING)
            self._schedule_renegotiate(f"peer connection {state}")
        elif state == "timeout" and self.pc.connectionState != "connected":
            self._set_state(phase=Phase.RECONNECTING)
            self._schedule_renegotiate("not connected in time")

    def _schedule_renegotiate(self, reason: str, force: bool = False) -> None:
        """Renegotiate soon (at once the first time, then with backoff). Unless ``force``d,
        it is skipped if the connection has come back meanwhile."""
        if self._renegotiate_timer is not None and not self._renegotiate_timer.done():
            return
        attempt = self._renegotiate_attempts
        self._renegotiate_attempts += 1
        delay = 0.0 if attempt == 0 else min(self.config.renegotiate_delay_max_s, 0.5 * 2**attempt)
        self._renegotiate_timer = self._later(
            delay, ("_renegotiate", (self.session_id, reason, force))
        )

    async def _handle_renegotiate(self, data: tuple[str | None, str, bool]) -> None:
        session_id, reason, force = data
        if session_id is None or session_id != self.session_id:
            return
        if not force and self.pc is not None and self.pc.connectionState == "connected":
            return
        await self._renegotiate_now(reason)

    async def _renegotiate_now(self, reason: str) -> None:
        if not self.connected:
            # Offers need the signaling channel; _handle_replay_check retries after reconnect.
            return
        self.counters.renegotiations += 1
        log.info("renegotiating session %s: %s", self.session_id, reason)
        await self._negotiate(reason)

    # -- timers and emits -----------------------------------------------------------------
    def _later(self, delay: float, item: tuple[str, Any]) -> asyncio.Task[None]:
        async def fire() -> None:
            await asyncio.sleep(delay)
            self._inbox.put_nowait(item)

        return self._spawn(fire(), f"timer{item[0]}")

    def _cancel_timer(self, attr: str) -> None:
        task = getattr(self, attr)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        setattr(self, attr, None)

    async def _emit(self, event: str, data: dict[str, Any]) -> bool:
        if not self.connected:
            return False

        def on_ack(*args: Any) -> None:
            try:
                ack = messages.parse_ack(args[0] if args else None, event)
            except messages.InvalidMessage as exc:
                log.warning("%s", exc)
                return
            if isinstance(ack, messages.ErrorAck):
                log.warning("server refused %s: %s %s", event, ack.code, ack.message)

        try:
            await self.sio.emit(event, data, namespace=NAMESPACE, callback=on_ack)
        except Exception as exc:
            log.warning("could not send %s: %s", event, exc)
            return False
        return True

    # -- health, screen, documents --------------------------------------------------------
    async def _report_health(self) -> None:
        status = "ok" if self.source.healthy else "fault"
        if status == self.health_reported:
            return
        if await self._emit("health", {"camera": status}):
            self.health_reported = status
            self.counters.health_reports += 1
            log.log(
                logging.INFO if status == "ok" else logging.WARNING, "camera health: %s", status
            )
        self._set_state(camera_ok=status == "ok")

    async def _health_watchdog(self) -> None:
        # Give a starting camera a moment before calling it faulty.
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.config.health_interval_s)
            self._check_media_stall()
            if not self.source.healthy and time.monotonic() - started < 3.0:
                continue
            await self._report_health()

    def _check_media_stall(self) -> None:
        now = time.monotonic()
        received = self.sink.video_frames + self.sink.audio_frames
        if received != self._media_seen[0] or self.pc is None:
            self._media_seen = (received, now)
            return
        if (
            self.pc.connectionState == "connected"
            and self.session_id is not None
            # Only a connection that has carried media can stall; an officer who sends
            # nothing at all must not cause a renegotiation loop.
            and received > self._media_at_pc_start
            and now - self._media_seen[1] > self.config.media_stall_s
        ):
            log.warning("no media from the officer for %.0f s", now - self._media_seen[1])
            self._media_seen = (received, now)
            self._set_state(phase=Phase.RECONNECTING)
            self._schedule_renegotiate("media stalled", force=True)

    async def _screen_loop(self) -> None:
        assert self.screen is not None
        interval = 1.0 / self.config.screen_fps
        while True:
            latest = self.source.latest()
            self.screen.render(self.state, self.sink.latest_bgr(), latest[0] if latest else None)
            await asyncio.sleep(interval)

    async def _stats_logger(self, interval: float) -> None:
        last_sent, last_at = 0, time.monotonic()
        track: SourceVideoTrack | None = None
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            if self.video_track is not track:
                track, last_sent = self.video_track, 0
            sent = track.frames_sent if track is not None else 0
            rx = self.sink.stats()
            log.info(
                "stats session=%s sent_fps=%.1f sent=%dx%d received_fps=%.1f received=%dx%d "
                "received_frames=%d",
                self.session_id,
                (sent - last_sent) / (now - last_at),
                self.config.width,
                self.config.height,
                rx.fps,
                rx.width,
                rx.height,
                rx.video_frames,
            )
            last_sent, last_at = sent, now

    def set_document_guidance(self, text: str | None) -> None:
        """The document capture's prompt for the kiosk banner (None: the default one)."""
        self._set_state(guidance=text)

    async def upload_document(
        self,
        kind: str,
        body: bytes,
        content_type: str = "image/jpeg",
        *,
        session_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> dict[str, Any]:
        """POST a captured still for ``session_id`` (default: the current session).

        Raises ``UploadRefused`` (with the HTTP status) when the server answers with an
        error, and aiohttp / OS errors or ``TimeoutError`` when it cannot be reached."""
        session_id = session_id or self.session_id
        if session_id is None:
            raise RuntimeError("no session to attach a document to")
        url = self.config.server_url.rstrip("/") + f"/api/sessions/{session_id}/documents"
        headers = {
            "Authorization": f"Bearer {self.config.token}",
            "X-Booth-Id": self.config.booth_id,
            "Content-Type": content_type,
        }
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.post(url, params={"kind": kind}, data=body, headers=headers) as response,
        ):
            try:
                payload: dict[str, Any] = await response.json()
            except (aiohttp.ContentTypeError, ValueError):
                payload = {"body": (await response.text())[:200]}
            if response.status != 201:
                raise UploadRefused(response.status, payload)
            return payload
