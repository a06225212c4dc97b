"""Document capture on the kiosk: from the officer's ``document_requested`` to an uploaded still.

One ``DocumentCapture`` per kiosk. ``start(session_id, kind)`` (the booth agent's
``on_document_requested`` hook) begins a capture job that

1. reads the newest frame of the booth's ``FrameSource`` about ``fps`` times a second and runs
   detection, the capture guide, rectification and the quality gates in a worker thread
   (``asyncio.to_thread``), so the event loop that feeds WebRTC never waits on OpenCV and the
   live video keeps running;
2. publishes the guide's Indonesian prompt to the kiosk banner and its outline to the preview;
3. captures by itself once the document is steady and passes the gates for a short run of
   frames, or at once on the kiosk's manual capture key, or after ``timeout_s`` without an
   auto-capture it takes the best frame seen so far (so the officer always gets something to
   look at, and can reject it);
4. encodes the rectified still as JPEG and uploads it with the booth's credentials, retrying
   network errors and 5xx answers with backoff; a 4xx answer (session no longer live, a
   refused image) ends the job;
5. shows "Dokumen terkirim, menunggu pemeriksaan petugas".

``reviewed(...)`` (the ``on_document_reviewed`` hook): ``rejected`` for the document this
capture sent starts the same kind again (the kiosk shows the officer's reason), ``approved``
ends it. A job gives up quietly when its session ends or a newer request supersedes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import numpy as np

from booth_client.documents import detect_document
from booth_client.documents.geometry import Quad
from booth_client.documents.guidance import (
    CaptureGuide,
    GuidanceState,
    GuidanceUpdate,
    draw_guidance,
)
from booth_client.documents.kinds import DOCUMENT_KINDS, DocumentKind
from booth_client.documents.rectify import encode_jpeg
from booth_client.sources import Frame, FrameSource
from booth_client.waiting import wait_until

if TYPE_CHECKING:
    from booth_client.screen import KioskScreen
    from booth_client.session import BoothAgent

log = logging.getLogger(__name__)

SENT_TEXT = "Dokumen terkirim, menunggu pemeriksaan petugas"
UPLOADING_TEXT = "Mengirim dokumen…"
RETRYING_TEXT = "Jaringan terganggu, mencoba mengirim ulang dokumen…"
FAILED_TEXT = "Dokumen gagal dikirim. Mohon tunggu arahan petugas"

Uploader = Callable[[str, str, bytes], Awaitable[Mapping[str, Any]]]
"""``upload(session_id, kind, jpeg) -> {document_id, ...}``; raises ``UploadRefused`` for an
HTTP error answer, anything else (``aiohttp.ClientError``, ``OSError``, ``TimeoutError``) is a
network error and retried."""


class UploadRefused(RuntimeError):
    """The server answered the upload with an error status."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(f"document upload refused ({status}): {payload}")
        self.status = status
        self.payload = payload

    @property
    def retryable(self) -> bool:
        # 429 rate limited, 5xx (503: the state store is down): the upload may succeed later.
        return self.status == 429 or self.status >= 500


class CapturePhase(enum.Enum):
    IDLE = "idle"
    GUIDING = "guiding"  # looking for the document, prompting the participant
    UPLOADING = "uploading"
    SENT = "sent"  # waiting for the officer's review
    APPROVED = "approved"
    FAILED = "failed"  # the server refused the still; the officer can ask again
    CANCELLED = "cancelled"  # the session ended or a newer request superseded the job


@dataclass(frozen=True)
class CaptureConfig:
    fps: float = 9.0  # frames analysed per second (detection costs 10-40 ms per frame)
    timeout_s: float = 45.0  # no auto-capture by then: send the best frame so far
    jpeg_quality: int = 90
    retry_initial_s: float = 0.5
    retry_max_s: float = 8.0


@dataclass
class CaptureStatus:
    """What the capture is doing, for the kiosk, logs and tests."""

    phase: CapturePhase = CapturePhase.IDLE
    session_id: str | None = None
    kind: str | None = None
    attempt: int = 0  # 1 for the first capture of a request, +1 per rejection
    guidance: GuidanceState | None = None
    frames_analysed: int = 0
    uploads: int = 0
    upload_retries: int = 0
    document_ids: list[str] = field(default_factory=list)
    how: str | None = None  # "auto", "manual" or "timeout" for the last capture
    requested_at: float | None = None  # monotonic
    captured_s: float | None = None  # from the start of the attempt to the capture
    sent_s: float | None = None  # from the start of the attempt to the upload's answer
    superseded: int = 0
    last_error: str | None = None


@dataclass
class _Job:
    session_id: str
    kind: DocumentKind
    attempt: int
    reason: str | None = None  # the rejection that started this attempt


@dataclass
class _Best:
    """The most promising frame so far, for the timeout fallback."""

    score: tuple[float, ...]
    frame: Frame
    quad: Quad | None


class DocumentCapture:
    """Guides, captures, rectifies and uploads the document the officer asked for."""

    def __init__(
        self,
        source: FrameSource,
        upload: Uploader,
        *,
        publish: Callable[[str | None], None] | None = None,
        session_alive: Callable[[str], bool] | None = None,
        config: CaptureConfig | None = None,
    ) -> None:
        self.source = source
        self.upload = upload
        self.publish = publish
        self.session_alive = session_alive
        self.config = config or CaptureConfig()
        self.status = CaptureStatus()
        self.last_update: GuidanceUpdate | None = None
        self._task: asyncio.Task[None] | None = None
        self._manual = False
        self._published: str | None = None
        self._changed = asyncio.Event()
        self._frame_shape: tuple[int, ...] = (0, 0)

    @classmethod
    def for_agent(
        cls,
        agent: BoothAgent,
        screen: KioskScreen | None = None,
        config: CaptureConfig | None = None,
    ) -> DocumentCapture:
        """A capture that reads ``agent.source``, uploads through ``agent.upload_document``,
        prompts on the agent's kiosk banner and outlines the document on ``screen``'s preview
        (whose manual capture key it answers). Hook it up with
        ``agent.on_document_requested = capture.start`` and
        ``agent.on_document_reviewed = capture.reviewed``."""

        async def upload(session_id: str, kind: str, body: bytes) -> Mapping[str, Any]:
            return await agent.upload_document(kind, body, session_id=session_id)

        capture = cls(
            agent.source,
            upload,
            publish=agent.set_document_guidance,
            session_alive=lambda session_id: agent.session_id == session_id,
            config=config,
        )
        if screen is not None:
            screen.preview_overlay = capture.overlay
            screen.on_capture = capture.capture_now
        return capture

    # -- hooks ----------------------------------------------------------------------------
    def start(self, session_id: str, kind: str, *, reason: str | None = None) -> None:
        """Begin capturing ``kind`` for ``session_id``; a running job is superseded."""
        if kind not in DOCUMENT_KINDS:
            raise ValueError(f"unknown document kind {kind!r}")
        attempt = 1
        if reason is not None and self.status.session_id == session_id and self.status.kind == kind:
            attempt = self.status.attempt + 1
        if self._cancel_running():
            self.status.superseded += 1
            log.info("document capture superseded by %s for session %s", kind, session_id)
        job = _Job(session_id, kind, attempt, reason)
        self.status = CaptureStatus(
            phase=CapturePhase.GUIDING,
            session_id=session_id,
            kind=kind,
            attempt=attempt,
            requested_at=time.monotonic(),
            superseded=self.status.superseded,
            document_ids=self.status.document_ids if attempt > 1 else [],
            uploads=self.status.uploads if attempt > 1 else 0,
        )
        self._manual = False
        self.last_update = None
        self._task = asyncio.ensure_future(self._run(job))
        self._task.set_name(f"document-capture-{kind}-{attempt}")
        self._task.add_done_callback(self._task_done)
        self._notify()

    def reviewed(
        self, session_id: str, document_id: str, status: str, reason: str | None = None
    ) -> None:
        """The officer's review of a document: rejected → capture the same kind again."""
        st = self.status
        if session_id != st.session_id or document_id not in st.document_ids:
            log.info("review of document %s is not for the current capture; ignored", document_id)
            return
        if st.document_ids[-1] != document_id:
            log.info("review of an older document %s; ignored", document_id)
            return
        if status == "approved":
            self._cancel_running()
            self.status.phase = CapturePhase.APPROVED
            self.last_update = None
            self._publish(None)
            self._notify()
        elif status == "rejected" and st.kind is not None:
            log.info("document %s rejected (%s); capturing %s again", document_id, reason, st.kind)
            self.start(session_id, st.kind, reason=reason or "rejected")

    def capture_now(self) -> None:
        """The kiosk's manual capture key or button: take the next frame as it is."""
        if self.status.phase is CapturePhase.GUIDING:
            self._manual = True

    def cancel(self) -> None:
        """Stop any job (the session ended, the kiosk is closing)."""
        if self._cancel_running():
            self.status.phase = CapturePhase.CANCELLED
            self._publish(None)
            self._notify()

    async def close(self) -> None:
        task = self._task
        self.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait_for(self, predicate: Callable[[DocumentCapture], bool], within: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked on each change and 10×/s)."""
        return await wait_until(lambda: predicate(self), self._changed, within)

    # -- the kiosk preview ----------------------------------------------------------------
    def overlay(self, frame: Frame) -> Frame:
        """The preview with the detected outline and the prompt while guiding."""
        update = self.last_update
        if update is None or self.status.phase is not CapturePhase.GUIDING:
            return frame
        if update.quad is not None and frame.shape[:2] != self._frame_shape:
            return frame  # a different size than what was analysed: the outline would lie
        return draw_guidance(frame, update, english=False)

    # -- the job --------------------------------------------------------------------------
    def _cancel_running(self) -> bool:
        task, self._task = self._task, None
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.status.phase = CapturePhase.FAILED
            self.status.last_error = repr(task.exception())
            log.error("document capture crashed", exc_info=task.exception())
            self._notify()

    def _alive(self, job: _Job) -> bool:
        return self.session_alive is None or self.session_alive(job.session_id)

    async def _run(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        interval = 1.0 / self.config.fps
        guide = CaptureGuide(job.kind)
        best: _Best | None = None
        last_seq = 0
        capture = None
        how = "auto"
        while capture is None:
            if not self._alive(job):
                self._give_up(job, "session ended")
                return
            tick = loop.time()
            latest = self.source.latest()
            if latest is None or latest[1] == last_seq:
                await asyncio.sleep(interval / 4)
                if loop.time() - started < self.config.timeout_s or latest is None:
                    continue
            assert latest is not None
            frame, last_seq = latest
            manual = self._manual
            timed_out = loop.time() - started >= self.config.timeout_s
            now = loop.time()
            update, best = await asyncio.to_thread(
                _analyse, guide, frame, now, manual, timed_out, best
            )
            self.status.frames_analysed += 1
            self._frame_shape = frame.shape[:2]
            self.last_update = update
            if update.capture is not None:
                capture = update.capture
                how = "manual" if manual else "timeout" if guide.captured_manually else "auto"
                break
            self.status.guidance = update.state
            self._publish(update.prompt.indonesian)
            self._notify()
            await asyncio.sleep(max(0.0, interval - (loop.time() - tick)))

        self.status.captured_s = loop.time() - started
        self.status.how = how
        self.status.guidance = GuidanceState.CAPTURED
        log.info(
            "%s captured (%s) after %.1f s, attempt %d",
            job.kind,
            how,
            self.status.captured_s,
            job.attempt,
        )
        body = await asyncio.to_thread(encode_jpeg, capture.image, self.config.jpeg_quality)
        self.status.phase = CapturePhase.UPLOADING
        self._publish(UPLOADING_TEXT)
        self._notify()
        document_id = await self._upload(job, body)
        if document_id is None:
            return
        self.status.sent_s = loop.time() - started
        self.status.uploads += 1
        self.status.document_ids.append(document_id)
        self.status.phase = CapturePhase.SENT
        self._publish(SENT_TEXT)
        self._notify()
        log.info(
            "%s uploaded as %s (%d bytes) %.1f s after the request",
            job.kind,
            document_id,
            len(body),
            self.status.sent_s,
        )

    async def _upload(self, job: _Job, body: bytes) -> str | None:
        delay = self.config.retry_initial_s
        while True:
            if not self._alive(job):
                self._give_up(job, "session ended before the upload")
                return None
            try:
                answer = await self.upload(job.session_id, job.kind, body)
            except UploadRefused as exc:
                if not exc.retryable:
                    self.status.phase = CapturePhase.FAILED
                    self.status.last_error = str(exc)
                    log.warning("%s", exc)
                    self._publish(FAILED_TEXT)
                    self._notify()
                    return None
                error = str(exc)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                document_id = answer.get("document_id")
                if isinstance(document_id, str) and document_id:
                    return document_id
                error = f"upload answer without document_id: {answer!r}"
            self.status.upload_retries += 1
            self.status.last_error = error
            log.warning("document upload failed (%s); retrying in %.1f s", error, delay)
            self._publish(RETRYING_TEXT)
            self._notify()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max_s)

    def _give_up(self, job: _Job, why: str) -> None:
        log.info("document capture of %s stopped: %s", job.kind, why)
        self.status.phase = CapturePhase.CANCELLED
        self.last_update = None
        self._notify()

    def _publish(self, text: str | None) -> None:
        if text == self._published or self.publish is None:
            return
        self._published = text
        self.publish(text)

    def _notify(self) -> None:
        self._changed.set()


def _score(update: GuidanceUpdate) -> tuple[float, ...]:
    """How good a frame is for the timeout fallback: rectified and checked beats merely
    detected; then fewer failed gates; then sharper."""
    report = update.report
    if report is None:
        return (0.0, 0.0, 0.0)
    return (1.0, -float(len(report.reasons)), report.sharpness)


def _analyse(
    guide: CaptureGuide,
    frame: Frame,
    now: float,
    manual: bool,
    timed_out: bool,
    best: _Best | None,
) -> tuple[GuidanceUpdate, _Best | None]:
    """One frame through detection and the guide (in a worker thread)."""
    quad = detect_document(frame)
    if manual:
        return guide.capture_now(frame, quad, now), best
    update = guide.update(frame, quad, now)
    if update.capture is not None:
        return update, best
    if quad is not None:
        score = _score(update)
        if best is None or score > best.score:
            best = _Best(score, frame, np.asarray(quad, np.float32))
    if timed_out:
        if best is not None:
            return guide.capture_now(best.frame, best.quad, now), best
        return guide.capture_now(frame, None, now), best
    return update, best
