"""A real aiortc booth ↔ officer connection in one process, on loopback, no server."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection

from booth_client import ice
from booth_client.media import SourceVideoTrack, TrackSink, silence_track
from booth_client.sources import SyntheticSource

from .conftest import FPS, H, W

pytestmark = pytest.mark.media


async def test_video_flows_both_ways_at_the_requested_resolution() -> None:
    booth_src = SyntheticSource(W, H, FPS, label="booth")
    officer_src = SyntheticSource(W, H, FPS, label="cso")
    booth_src.start()
    officer_src.start()
    booth = RTCPeerConnection(ice.rtc_configuration([]))
    officer = RTCPeerConnection(ice.rtc_configuration([]))
    at_booth, at_officer = TrackSink("at-booth"), TrackSink("at-officer")
    booth.on("track", at_booth.add)
    officer.on("track", at_officer.add)
    try:
        booth.addTrack(SourceVideoTrack(booth_src, fps=FPS))
        booth.addTrack(silence_track())
        await booth.setLocalDescription(await booth.createOffer())
        assert "127.0.0.1" in booth.localDescription.sdp
        await officer.setRemoteDescription(booth.localDescription)
        officer.addTrack(SourceVideoTrack(officer_src, fps=FPS))
        officer.addTrack(silence_track())
        await officer.setLocalDescription(await officer.createAnswer())
        await booth.setRemoteDescription(officer.localDescription)

        ok = await asyncio.gather(
            at_officer.wait_video(frames=15, within=10, size=(W, H)),
            at_booth.wait_video(frames=15, within=10, size=(W, H)),
        )
        assert ok == [True, True]
        assert booth.connectionState == "connected"
        await asyncio.sleep(1.0)
        for sink in (at_officer, at_booth):
            stats = sink.stats()
            assert (stats.width, stats.height) == (W, H)
            assert 10 <= stats.fps <= 20
            assert stats.audio_frames > 0  # the silence track is received too
            image = sink.latest_bgr()
            assert image is not None and image.shape == (H, W, 3)
    finally:
        await booth.close()
        await officer.close()
        await at_booth.stop()
        await at_officer.stop()
        booth_src.stop()
        officer_src.stop()
