from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from booth_client.sources import (
    CameraSource,
    DocumentDisplay,
    FrameSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
)


def test_synthetic_frames_have_the_requested_size_and_move() -> None:
    src = SyntheticSource(320, 240, 30)
    assert isinstance(src, FrameSource) and isinstance(src, DocumentDisplay)
    src.start()
    try:
        assert src.wait_first_frame(2.0)
        first = src.latest()
        assert first is not None
        frame, seq = first
        assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
        time.sleep(0.3)
        second = src.latest()
        assert second is not None and second[1] > seq
        assert not np.array_equal(second[0], frame)  # the figure sways and the counter ticks
        assert src.healthy
    finally:
        src.stop()
    assert not src.running


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (322, 242)])
def test_synthetic_render_sizes(size: tuple[int, int]) -> None:
    src = SyntheticSource(*size, fps=30)
    assert src.render(1, 0.5).shape == (size[1], size[0], 3)


def test_synthetic_shows_a_document_while_requested() -> None:
    src = SyntheticSource(640, 480, 30)
    plain = src.render(5, 1.0)
    src.show_document("ktp")
    assert src.document_kind == "ktp"
    with_card = src.render(5, 1.0)
    changed = np.any(with_card != plain, axis=2).mean()
    assert changed > 0.1  # a card covers a good part of the frame
    src.show_document(None)
    assert src.document_kind is None
    with pytest.raises(ValueError):
        src.show_document("passport")


def test_synthetic_freeze_makes_the_source_unhealthy() -> None:
    src = SyntheticSource(160, 120, 30, stall_timeout_s=0.3)
    src.start()
    try:
        assert src.wait_first_frame(2.0)
        src.freeze()
        time.sleep(0.5)
        assert not src.healthy
        src.freeze(False)
        time.sleep(0.2)
        assert src.healthy
    finally:
        src.stop()


def _write_video(path: Path, frames: int, size: tuple[int, int], fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.full((size[1], size[0], 3), (i * 20) % 255, np.uint8)
        cv2.putText(img, str(i), (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 255), 2)
        writer.write(img)
    writer.release()


def test_video_file_loops_at_its_fps(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _write_video(path, frames=5, size=(160, 120), fps=20)
    src = VideoFileSource(path, 320, 240)
    assert src.fps == pytest.approx(20, abs=0.5)
    src.start()
    try:
        time.sleep(0.8)  # 16 frames at 20 fps: the 5-frame clip loops 3 times
        got = src.latest()
        assert got is not None and got[0].shape == (240, 320, 3)
        assert src.loops >= 2
        assert 10 <= src.frames_produced <= 20
        assert src.healthy
    finally:
        src.stop()


def test_video_file_missing_or_garbage(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(SourceError):
        VideoFileSource(junk)


def test_camera_source_fails_cleanly_without_a_camera() -> None:
    src = CameraSource(index=57, width=320, height=240, fps=15, reopen_interval_s=0.2)
    started = time.monotonic()
    src.start()
    try:
        assert not src.wait_first_frame(0.6)
        assert not src.healthy
        assert src.latest() is None
        assert src.last_error is not None and "57" in src.last_error
        assert src.running  # keeps trying: a camera plugged in later is picked up
    finally:
        src.stop()
    assert not src.running and not src.opened
    assert time.monotonic() - started < 4.0
    with pytest.raises(ValueError):
        CameraSource(index=-1)
