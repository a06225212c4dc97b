"""WebRTC media plumbing: a video track fed by a FrameSource, the microphone (or silence),
and a sink that consumes every incoming track so memory stays flat over a long day.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fractions
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRecorder, MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from booth_client.sources import DEFAULT_STALL_TIMEOUT_S, Frame, FrameSource

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)


class SourceVideoTrack(VideoStreamTrack):
    """Sends a FrameSource at a fixed frame rate.

    Timestamps come from a 90 kHz clock anchored at the first ``recv()``; if the encoder
    falls behind by more than half a second the clock skips ahead instead of bursting.
    ``recv()`` never waits on the source: when it has nothing new the last frame is
    repeated (a black frame before the first one), and after ``stall_timeout_s`` without
    a new frame the track reports ``healthy = False``.
    """

    kind = "video"

    def __init__(
        self,
        source: FrameSource,
        fps: float | None = None,
        width: int | None = None,
        height: int | None = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.source = source
        self.fps = float(fps or source.fps)
        if self.fps <= 0:
            raise ValueError("fps must be positive")
        # Encoders want even dimensions (4:2:0 chroma).
        self.width = (width or source.width) & ~1
        self.height = (height or source.height) & ~1
        self.stall_timeout_s = stall_timeout_s
        self.frames_sent = 0
        self.frames_repeated = 0
        self._start: float | None = None  # type: ignore[assignment]
        self._index = 0
        self._seq = 0
        self._seq_changed_at = time.monotonic()
        self._yuv: np.ndarray[Any, np.dtype[np.uint8]] | None = None

    @property
    def healthy(self) -> bool:
        return self._seq > 0 and time.monotonic() - self._seq_changed_at < self.stall_timeout_s

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
            self._index = 0
        else:
            self._index += 1
            wait = self._start + self._index / self.fps - now
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.5:
                self._index = int((now - self._start) * self.fps) + 1
        pts = round(self._index * VIDEO_CLOCK_RATE / self.fps)
        frame = av.VideoFrame.from_ndarray(self._next_yuv(), format="yuv420p")
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame

    def _next_yuv(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        got = self.source.latest()
        if got is not None and got[1] != self._seq:
            image, self._seq = got
            self._seq_changed_at = time.monotonic()
            self._yuv = bgr_to_i420(image, self.width, self.height)
        else:
            self.frames_repeated += 1
            if self._yuv is None:
                self._yuv = bgr_to_i420(
                    np.zeros((self.height, self.width, 3), np.uint8), self.width, self.height
                )
        return self._yuv


def bgr_to_i420(image: Frame, width: int, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """BGR → planar YUV 4:2:0 at ``width``×``height``; OpenCV's SIMD conversion is several
    times cheaper than letting libswscale do it inside the encoder."""
    sized = image
    if image.shape[1] != width or image.shape[0] != height:
        sized = np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    return np.asarray(cv2.cvtColor(sized, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)


# -- audio --------------------------------------------------------------------------------------


class Microphone:
    """The default input device through FFmpeg (pulse, else ALSA), shared by every peer
    connection of the booth through a MediaRelay (a renegotiation makes a new one)."""

    def __init__(self, player: MediaPlayer, backend: str) -> None:
        self.player = player
        self.backend = backend
        self._relay = MediaRelay()

    def track(self) -> MediaStreamTrack:
        audio = self.player.audio
        assert audio is not None  # checked when opened
        return self._relay.subscribe(audio, buffered=False)

    def close(self) -> None:
        audio = self.player.audio
        if audio is not None:
            audio.stop()


def _pulse_available() -> bool:
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(runtime, "pulse", "native").exists()


def _alsa_capture_available() -> bool:
    try:
        return "capture" in Path("/proc/asound/pcm").read_text()
    except OSError:
        return False


def _open_microphone_blocking() -> Microphone | None:
    candidates: list[str] = []
    if _pulse_available():
        candidates.append("pulse")
    if _alsa_capture_available():
        candidates.append("alsa")
    for backend in candidates:
        try:
            player = MediaPlayer("default", format=backend, timeout=3)
        except Exception as exc:  # FFmpeg raises a variety of av.error.* on a missing device
            log.info("no microphone through %s: %s", backend, exc)
            continue
        if player.audio is None:
            continue
        log.info("microphone: default %s input", backend)
        return Microphone(player, backend)
    return None


async def open_microphone(timeout_s: float = 5.0) -> Microphone | None:
    """Probe for the default input device without blocking the loop; None means silence.

    Only backends whose server or device is visibly present are tried, so a kiosk or CI
    machine without audio does not wait on FFmpeg timeouts.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(_open_microphone_blocking), timeout_s)
    except (TimeoutError, Exception) as exc:
        log.info("microphone probe gave up: %s", exc)
        return None


def _alsa_playback_available() -> bool:
    try:
        return "playback" in Path("/proc/asound/pcm").read_text()
    except OSError:
        return False


class Speaker:
    """Plays the officer's audio on the default output device (pulse, else ALSA).

    One FFmpeg output per incoming audio track: a renegotiation brings a new track and the
    previous output is closed first.
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._recorder: MediaRecorder | None = None

    async def play(self, track: MediaStreamTrack) -> bool:
        await self.stop()
        try:
            recorder = await asyncio.to_thread(MediaRecorder, "default", format=self.backend)
            recorder.addTrack(track)
            await recorder.start()
        except Exception as exc:
            log.warning("cannot play the officer's audio through %s: %s", self.backend, exc)
            return False
        self._recorder = recorder
        return True

    async def stop(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            with contextlib.suppress(Exception):
                await recorder.stop()


def find_speaker() -> Speaker | None:
    """The default output device's backend, if one is visibly present (None: no playback)."""
    if _pulse_available():
        return Speaker("pulse")
    if _alsa_playback_available():
        return Speaker("alsa")
    return None


def silence_track() -> MediaStreamTrack:
    return AudioStreamTrack()


# -- receiving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinkStats:
    video_frames: int
    audio_frames: int
    width: int
    height: int
    fps: float
    tracks_active: int
    first_video_at: float | None  # time.monotonic() of the first decoded video frame


class TrackSink:
    """Consumes every track added to it until it ends (aiortc needs every incoming track
    read, or its receive queues grow). Keeps only the newest decoded video frame and
    counters, so memory stays flat however long the booth runs."""

    def __init__(self, name: str = "sink") -> None:
        self.name = name
        self.video_frames = 0
        self.audio_frames = 0
        self.width = 0
        self.height = 0
        self.first_video_at: float | None = None
        self._latest: av.VideoFrame | None = None
        self._latest_bgr: tuple[int, Frame] | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=240)
        self._tasks: set[asyncio.Task[None]] = set()
        self._new_video = asyncio.Event()

    def add(self, track: MediaStreamTrack) -> None:
        task = asyncio.get_running_loop().create_task(
            self._consume(track), name=f"{self.name}-{track.kind}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            except Exception:
                log.exception("%s: reading a %s track failed", self.name, track.kind)
                return
            if isinstance(frame, av.VideoFrame):
                now = time.monotonic()
                if self.first_video_at is None:
                    self.first_video_at = now
                self.video_frames += 1
                self.width, self.height = frame.width, frame.height
                self._latest = frame
                self._times.append(now)
                self._new_video.set()
            else:
                self.audio_frames += 1

    @property
    def fps(self) -> float:
        """Frames per second over the last second of arrivals."""
        now = time.monotonic()
        recent = [t for t in self._times if now - t <= 1.0]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    def latest_bgr(self) -> Frame | None:
        """The newest video frame as BGR, converted only when asked (the screen does)."""
        frame = self._latest
        if frame is None:
            return None
        cached = self._latest_bgr
        if cached is None or cached[0] != self.video_frames:
            image = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            cached = self._latest_bgr = (self.video_frames, image)
        return cached[1]

    def stats(self) -> SinkStats:
        return SinkStats(
            video_frames=self.video_frames,
            audio_frames=self.audio_frames,
            width=self.width,
            height=self.height,
            fps=self.fps,
            tracks_active=len(self._tasks),
            first_video_at=self.first_video_at,
        )

    def clear_picture(self) -> None:
        """Forget the last frame (the session ended; don't show a stale face)."""
        self._latest = None
        self._latest_bgr = None

    async def wait_video(
        self, frames: int = 1, within: float = 10.0, size: tuple[int, int] | None = None
    ) -> bool:
        """Wait until ``frames`` video frames in total arrived (at ``size`` = (w, h) if given)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if self.video_frames >= frames and (size is None or (self.width, self.height) == size):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._new_video.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_video.wait(), remaining)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clear_picture()
