from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import pytest
from aiortc import VideoStreamTrack

from booth_client.media import SourceVideoTrack, TrackSink, bgr_to_i420, open_microphone
from booth_client.sources import SyntheticSource


async def test_track_delivers_the_requested_size_at_the_requested_fps() -> None:
    src = SyntheticSource(320, 240, 15)
    src.start()
    track = SourceVideoTrack(src, fps=15)
    try:
        assert await asyncio.to_thread(src.wait_first_frame, 2.0)
        frames = []
        started = time.monotonic()
        for _ in range(16):
            frames.append(await track.recv())
        elapsed = time.monotonic() - started
        assert all(isinstance(f, av.VideoFrame) for f in frames)
        assert {(f.width, f.height) for f in frames} == {(320, 240)}
        assert frames[0].format.name == "yuv420p"
        # pts on a 90 kHz clock, 6000 ticks apart at 15 fps.
        assert [f.pts for f in frames] == [i * 6000 for i in range(16)]
        assert float(frames[0].time_base) == pytest.approx(1 / 90000)
        assert 0.9 <= elapsed <= 1.4  # 15 intervals of 1/15 s
        assert track.healthy
    finally:
        track.stop()
        src.stop()


async def test_track_repeats_the_last_frame_when_the_source_stalls() -> None:
    src = SyntheticSource(160, 120, 30)
    src.start()
    track = SourceVideoTrack(src, fps=30, stall_timeout_s=0.3)
    try:
        assert await asyncio.to_thread(src.wait_first_frame, 2.0)
        await track.recv()
        src.freeze()
        started = time.monotonic()
        for _ in range(15):
            frame = await track.recv()  # never blocks on the frozen source
        assert time.monotonic() - started < 1.0
        assert frame.width == 160
        assert track.frames_repeated >= 5
        assert not track.healthy
    finally:
        track.stop()
        src.stop()


async def test_track_sends_black_before_the_first_frame_and_resizes() -> None:
    src = SyntheticSource(640, 480, 30)  # never started
    track = SourceVideoTrack(src, fps=30, width=320, height=240)
    frame = await track.recv()
    assert (frame.width, frame.height) == (320, 240)
    assert frame.to_ndarray(format="bgr24").max() < 20
    track.stop()


def test_i420_conversion_matches_size() -> None:
    bgr = np.zeros((240, 320, 3), np.uint8)
    assert bgr_to_i420(bgr, 320, 240).shape == (360, 320)
    assert bgr_to_i420(bgr, 160, 120).shape == (180, 160)


async def test_sink_consumes_every_track_and_keeps_only_counters() -> None:
    sink = TrackSink("test")
    video = VideoStreamTrack()  # aiortc's own 640×480 30 fps test pattern
    sink.add(video)
    assert await sink.wait_video(frames=10, within=3.0, size=(640, 480))
    stats = sink.stats()
    assert stats.video_frames >= 10 and stats.tracks_active == 1
    assert 20 <= sink.fps <= 40
    image = sink.latest_bgr()
    assert image is not None and image.shape == (480, 640, 3)
    video.stop()  # the track ends: its reader stops on its own
    for _ in range(50):
        if not sink.stats().tracks_active:
            break
        await asyncio.sleep(0.02)
    assert sink.stats().tracks_active == 0
    await sink.stop()
    assert sink.latest_bgr() is None


async def test_microphone_probe_never_raises() -> None:
    mic = await open_microphone(timeout_s=5.0)
    if mic is not None:  # a machine with audio: the track must be usable
        track = mic.track()
        assert track.kind == "audio"
        mic.close()
