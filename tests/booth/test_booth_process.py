"""``lapak-asik booth`` as a real subprocess: it serves a session and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import FPS, H, OfficerFactory, W

pytestmark = [pytest.mark.media, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


async def _booth_entry(url: str, booth_id: str) -> dict[str, Any]:
    from tests.harness import login

    token = await login(url, "ops")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/occupancy", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        body = await resp.json()
    (booth,) = [b for b in body["branches"][0]["booths"] if b["id"] == booth_id]
    return dict(booth)


async def test_sigterm_releases_everything_and_exits_0(
    server: Any, make_officer: OfficerFactory
) -> None:
    officer = await make_officer(server.url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "booth_server", "booth",
        "--server", server.url, "--booth-id", "langsa-05", "--token", "demo-token-langsa-05",
        "--synthetic", "--headless", "--auto-ready", "--ice-host", "127.0.0.1",
        "--width", str(W), "--height", str(H), "--fps", str(int(FPS)), "--no-microphone",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert await officer.wait_for(
            lambda o: any(s.frames >= 15 for s in o.live_sessions()), within=20
        ), officer.sessions
        (session,) = officer.live_sessions()
        assert (session.sink.width, session.sink.height) == (W, H)
        assert session.booth_id == "langsa-05"
        assert (await _booth_entry(server.url, "langsa-05"))["connected"]

        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = stderr.decode()
    assert proc.returncode == 0, log
    assert "booth langsa-05 closed" in log
    assert "Traceback" not in log
    # The server saw the socket go, and the officer's media ended with the booth's.
    assert not (await _booth_entry(server.url, "langsa-05"))["connected"]
    frames = session.frames
    await asyncio.sleep(1.0)
    assert session.frames - frames <= 2


async def test_wrong_token_exits_3(server: Any) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "booth_server", "booth",
        "--server", server.url, "--booth-id", "langsa-06", "--token", "wrong-token",
        "--synthetic", "--headless", "--ice-host", "127.0.0.1", "--no-microphone",
        cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 3, stderr.decode()
    assert "unauthorized" in stderr.decode()
    assert "wrong-token" not in stderr.decode()  # the secret is not logged
