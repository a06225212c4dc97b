"""Video sources for the kiosk: a real camera, a looped video file, or a synthetic scene.

Every source produces frames in its own daemon thread and keeps only the newest one, so
the asyncio loop that feeds WebRTC never waits on a camera or a decoder. Consumers poll
``latest()`` and compare the sequence number to know whether a frame is new.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
"""A BGR image, shape (height, width, 3), dtype uint8."""

DOCUMENT_KINDS = frozenset({"ktp", "kpj", "kk", "paklaring", "bank_book", "npwp", "other"})

# A source that has not produced a new frame for this long is reported as unhealthy.
DEFAULT_STALL_TIMEOUT_S = 2.0


class SourceError(RuntimeError):
    """A source cannot be opened (missing file, unreadable video)."""


@runtime_checkable
class FrameSource(Protocol):
    """Anything the kiosk can send as the participant's video."""

    width: int
    height: int
    fps: float

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def latest(self) -> tuple[Frame, int] | None:
        """The newest frame and its sequence number (1, 2, …), or None before the first."""
        ...

    @property
    def healthy(self) -> bool:
        """True while frames keep arriving."""
        ...


@runtime_checkable
class DocumentDisplay(Protocol):
    """A source that can show a document in view on request (the synthetic scene)."""

    def show_document(self, kind: str | None) -> None: ...


class _ThreadedSource:
    """Common machinery: a producer thread that publishes the newest frame under a lock."""

    def __init__(
        self, width: int, height: int, fps: float, stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.width = width
        self.height = height
        self.fps = float(fps)
        self.stall_timeout_s = stall_timeout_s
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._seq = 0
        self._last_frame_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public surface -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run_guarded, name=f"{type(self).__name__}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=3.0)
            if thread.is_alive():
                log.warning("%s thread did not stop within 3 s", type(self).__name__)

    def latest(self) -> tuple[Frame, int] | None:
        with self._lock:
            if self._frame is None:
                return None
            return self._frame, self._seq

    @property
    def healthy(self) -> bool:
        with self._lock:
            return (
                self._frame is not None
                and time.monotonic() - self._last_frame_at < self.stall_timeout_s
            )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def frames_produced(self) -> int:
        return self._seq

    def wait_first_frame(self, timeout: float) -> bool:
        """Block (in a thread, not the loop) until the first frame or the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._seq > 0:
                return True
            if self._stop.is_set():
                return False
            time.sleep(0.01)
        return self._seq > 0

    # -- for subclasses -------------------------------------------------------------------
    def _publish(self, frame: Frame) -> None:
        # Frames are never mutated after publishing, so readers may keep a reference.
        with self._lock:
            self._frame = frame
            self._seq += 1
            self._last_frame_at = time.monotonic()

    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a producer crash must show up as "unhealthy", not vanish
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("%s producer crashed", type(self).__name__)

    def _run(self) -> None:
        raise NotImplementedError

    def _fit(self, frame: Frame) -> Frame:
        if frame.shape[1] != self.width or frame.shape[0] != self.height:
            return np.ascontiguousarray(
                cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
            )
        return frame


class CameraSource(_ThreadedSource):
    """An OpenCV camera (``--camera N``).

    The thread opens the device itself and reopens it after a failure (a USB camera that was
    unplugged and plugged back), so a missing camera makes the source unhealthy instead of
    crashing the kiosk; ``last_error`` says why. The device is released on ``stop()``.
    """

    def __init__(
        self,
        index: int,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        reopen_interval_s: float = 2.0,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        super().__init__(width, height, fps, stall_timeout_s)
        if index < 0:
            raise ValueError(f"camera index must be >= 0, got {index}")
        self.index = index
        self.reopen_interval_s = reopen_interval_s
        self.opened = False

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            self.last_error = f"camera {self.index} could not be opened"
            return None
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        # Keep the driver queue short: we only ever want the newest frame.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _run(self) -> None:
        cap: cv2.VideoCapture | None = None
        try:
            while not self._stop.is_set():
                if cap is None:
                    cap = self._open()
                    self.opened = cap is not None
                    if cap is None:
                        log.warning(
                            "%s; retrying in %.1f s", self.last_error, self.reopen_interval_s
                        )
                        self._stop.wait(self.reopen_interval_s)
                        continue
                    log.info("camera %d opened", self.index)
                ok, frame = cap.read()
                if not ok or frame is None:
                    self.last_error = f"camera {self.index} stopped delivering frames"
                    log.warning("%s; reopening", self.last_error)
                    cap.release()
                    cap = None
                    self.opened = False
                    self._stop.wait(self.reopen_interval_s)
                    continue
                self.last_error = None
                self._publish(self._fit(np.asarray(frame, dtype=np.uint8)))
        finally:
            if cap is not None:
                cap.release()
            self.opened = False


class VideoFileSource(_ThreadedSource):
    """A video file played in a loop at the file's own frame rate (``--video FILE``)."""

    def __init__(
        self,
        path: str | Path,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise SourceError(f"video file cannot be opened: {self.path}")
            file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            file_w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            file_h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            ok, _ = cap.read()
            if not ok:
                raise SourceError(f"video file has no decodable frames: {self.path}")
        finally:
            cap.release()
        play_fps = fps or (file_fps if 0 < file_fps <= 240 else 25.0)
        super().__init__(width or file_w, height or file_h, play_fps, stall_timeout_s)
        self.loops = 0

    def _run(self) -> None:
        cap = cv2.VideoCapture(str(self.path))
        interval = 1.0 / self.fps
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok or frame is None:
                    self.loops += 1
                    cap.release()
                    cap = cv2.VideoCapture(str(self.path))
                    ok, frame = cap.read()
                    if not ok or frame is None:
                        self.last_error = f"video file stopped decoding: {self.path}"
                        log.error(self.last_error)
                        return
                self._publish(self._fit(np.asarray(frame, dtype=np.uint8)))
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()  # fell behind: don't try to catch up in a burst
        finally:
            cap.release()


class SyntheticSource(_ThreadedSource):
    """A generated scene: a participant-like figure that sways and blinks, a clock and a
    frame counter, and while a document is requested, an ID card held up to the camera.

    Used by ``--synthetic``, the demo's simulated booths, tests and the benchmark, so no
    camera is needed anywhere. ``freeze()`` simulates a camera that stops delivering frames.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        label: str = "",
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        caption_clock: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(width, height, fps, stall_timeout_s)
        self.label = label
        # The wall clock in the caption; replaceable so a test can render the same frame twice.
        self._caption_clock = caption_clock or (lambda: time.strftime("%H:%M:%S"))
        self._document_kind: str | None = None
        self._card: HeldDocument | None = None
        self._frozen = threading.Event()
        self._background = self._make_background()

    # -- controls -------------------------------------------------------------------------
    def show_document(self, kind: str | None) -> None:
        """Hold a synthetic card of ``kind`` in view, or put it away with None."""
        if kind is not None and kind not in DOCUMENT_KINDS:
            raise ValueError(f"unknown document kind {kind!r}")
        # Drawn by the producer thread on its next frame: the caller (the event loop) must
        # not spend the ~50-200 ms a template render and warp take.
        with self._lock:
            self._document_kind = kind

    @property
    def document_kind(self) -> str | None:
        return self._document_kind

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or resume) producing frames, like a camera that hangs."""
        if frozen:
            self._frozen.set()
        else:
            self._frozen.clear()

    # -- rendering ------------------------------------------------------------------------
    def _make_background(self) -> Frame:
        h, w = self.height, self.width
        ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        bg = np.empty((h, w, 3), dtype=np.uint8)
        bg[:, :, 0] = (200 - 60 * ramp).astype(np.uint8)  # a pale booth wall
        bg[:, :, 1] = (190 - 50 * ramp).astype(np.uint8)
        bg[:, :, 2] = (170 - 40 * ramp).astype(np.uint8)
        # The booth's back panel with the agency's green stripe.
        cv2.rectangle(bg, (0, int(h * 0.08)), (w, int(h * 0.13)), (60, 140, 40), -1)
        return bg

    def render(self, index: int, t: float) -> Frame:
        """One frame of the scene at time ``t`` (seconds); public so tests can call it."""
        h, w = self.height, self.width
        s = min(w, h) / 480.0
        frame = self._background.copy()
        cx = int(w / 2 + math.sin(t * 0.7) * w * 0.06)
        cy = int(h * 0.42 + math.sin(t * 1.3) * h * 0.01)
        skin = (140, 170, 210)
        shirt = (120, 70, 30)
        # Shoulders and body, then neck and head.
        cv2.ellipse(
            frame, (cx, int(h * 0.98)), (int(170 * s), int(150 * s)), 0, 180, 360, shirt, -1
        )
        cv2.rectangle(
            frame,
            (cx - int(22 * s), cy + int(60 * s)),
            (cx + int(22 * s), cy + int(110 * s)),
            skin,
            -1,
        )
        cv2.ellipse(frame, (cx, cy), (int(62 * s), int(80 * s)), 0, 0, 360, skin, -1)
        cv2.ellipse(
            frame, (cx, cy - int(45 * s)), (int(66 * s), int(45 * s)), 0, 180, 360, (30, 30, 30), -1
        )
        # Eyes blink for ~150 ms every 3 s.
        blinking = (t % 3.0) < 0.15
        for dx in (-24, 24):
            ex, ey = cx + int(dx * s), cy - int(8 * s)
            if blinking:
                cv2.line(
                    frame,
                    (ex - int(9 * s), ey),
                    (ex + int(9 * s), ey),
                    (40, 40, 40),
                    max(1, int(2 * s)),
                )
            else:
                cv2.circle(frame, (ex, ey), max(2, int(7 * s)), (255, 255, 255), -1)
                cv2.circle(frame, (ex, ey), max(1, int(3 * s)), (40, 30, 20), -1)
        mouth_open = int(4 * s * (1 + math.sin(t * 6.0)))
        cv2.ellipse(
            frame,
            (cx, cy + int(35 * s)),
            (int(20 * s), max(1, mouth_open)),
            0,
            0,
            180,
            (60, 60, 150),
            -1,
        )
        card = self._current_card()
        if card is not None:
            self._paste_card(frame, card, t)
        text = f"{self.label} {self._caption_clock()} #{index}".strip()
        fs = max(0.35, 0.6 * s)
        # Top-left, above where a document is held: a moving caption across the card's edge
        # would be part of the card's outline to the detector.
        baseline = int(26 * s)
        cv2.putText(
            frame,
            text,
            (int(10 * s), baseline),
            cv2.FONT_HERSHEY_SIMPLEX,
            fs,
            (0, 0, 0),
            max(1, int(3 * s)),
            cv2.LINE_AA,
        )
        cv2.putText(
            frame,
            text,
            (int(10 * s), baseline),
            cv2.FONT_HERSHEY_SIMPLEX,
            fs,
            (255, 255, 255),
            max(1, int(s)),
            cv2.LINE_AA,
        )
        return frame

    def _current_card(self) -> HeldDocument | None:
        with self._lock:
            kind, card = self._document_kind, self._card
        if kind is None:
            return None
        if card is None or card.kind != kind:
            card = held_document(kind, self.width, self.height)
            with self._lock:
                if self._document_kind == kind:
                    self._card = card
        return card

    def _paste_card(self, frame: Frame, card: HeldDocument, t: float) -> None:
        # Held steadily in front of the chest: a slow drift of a pixel or two, well under
        # what the capture guide calls movement, so auto-capture can trigger.
        dx = round(math.sin(t * 1.1) * self.width * 0.002)
        dy = round(math.sin(t * 0.8) * self.height * 0.002)
        card.paste(frame, dx, dy)

    def _run(self) -> None:
        interval = 1.0 / self.fps
        start = time.monotonic()
        next_at = start
        index = 0
        while not self._stop.is_set():
            if not self._frozen.is_set():
                index += 1
                self._publish(self.render(index, time.monotonic() - start))
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()


# -- the synthetic document ----------------------------------------------------------------

# Share of the frame width a held ID-1 card spans: about 4.6 camera px/mm at 640×480, above
# the capture guide's 4 px/mm gate for cards (a 320×240 frame cannot reach it: there the
# capture falls back to the best frame after its timeout).
CARD_WIDTH_SHARE = 0.64
PAGE_HEIGHT_SHARE = 0.9


class HeldDocument:
    """A synthetic document held up to the camera: drawn once with the document templates
    (``booth_client.documents``), warped with a mild perspective and roll, and kept as a
    premultiplied layer plus alpha over its bounding box so each frame only blends it in.
    ``corners`` are its four outline corners in the frame (top-left first, clockwise)."""

    def __init__(
        self,
        kind: str,
        layer: Frame,
        alpha: npt.NDArray[np.float32],
        origin: tuple[int, int],
        corners: npt.NDArray[np.float64],
    ) -> None:
        self.kind = kind
        self.layer = layer.astype(np.float32)
        self.alpha = alpha
        self.origin = origin
        self.corners = corners

    def paste(self, frame: Frame, dx: int = 0, dy: int = 0) -> None:
        """Blend into ``frame`` in place, shifted by whole pixels (clipped at the borders)."""
        h, w = frame.shape[:2]
        ph, pw = self.alpha.shape[:2]
        x0, y0 = self.origin[0] + dx, self.origin[1] + dy
        fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
        if fx0 >= fx1 or fy0 >= fy1:
            return
        px, py = fx0 - x0, fy0 - y0
        a = self.alpha[py : py + fy1 - fy0, px : px + fx1 - fx0]
        layer = self.layer[py : py + fy1 - fy0, px : px + fx1 - fx0]
        region = frame[fy0:fy1, fx0:fx1]
        np.copyto(region, np.clip(region * (1.0 - a) + layer, 0, 255).astype(np.uint8))


def held_document(kind: str, frame_w: int, frame_h: int, seed: int = 7) -> HeldDocument:
    """The document of ``kind`` as a participant holds it to the kiosk camera."""
    from booth_client.documents.synthetic import paste_document
    from booth_client.documents.templates import RenderedDocument, render_document

    doc = render_document(kind, seed)  # type: ignore[arg-type]
    th, tw = doc.image.shape[:2]
    if th < tw:  # cards and landscape pages: as wide as a card held close
        width = frame_w * CARD_WIDTH_SHARE
        height = width * th / tw
    else:
        height = frame_h * PAGE_HEIGHT_SHARE
        width = height * tw / th
    scale = min(1.0, frame_w * 0.92 / width, frame_h * 0.92 / height)
    width, height = width * scale, height * scale
    # A mild perspective (the top leans away by 3%) and a 3 degree roll.
    lean = 0.03
    local = np.array(
        [
            [-width / 2 * (1 - lean), -height / 2],
            [width / 2 * (1 - lean), -height / 2],
            [width / 2, height / 2],
            [-width / 2, height / 2],
        ]
    )
    roll = math.radians(3.0)
    rot = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    centre = np.array([frame_w / 2, min(frame_h * 0.53, frame_h - height / 2 - frame_h * 0.04)])
    corners = local @ rot.T + centre
    blank = np.zeros((frame_h, frame_w, 3), np.uint8)
    layer = paste_document(blank, doc, corners)  # premultiplied by the document's alpha
    mask3 = np.repeat(doc.mask[:, :, None], 3, axis=2)
    coverage = paste_document(blank, RenderedDocument(mask3, doc.mask, doc.kind, doc.size), corners)
    alpha = coverage[:, :, :1].astype(np.float32) / 255.0
    ys, xs = np.nonzero(alpha[:, :, 0] > 0)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    return HeldDocument(
        kind,
        np.ascontiguousarray(layer[y0:y1, x0:x1]),
        np.ascontiguousarray(alpha[y0:y1, x0:x1]),
        (x0, y0),
        corners,
    )
