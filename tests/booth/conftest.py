"""Fixtures for the booth kiosk tests: loopback-only ICE, the real server, small frames."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from booth_client import ice

W, H, FPS = 320, 240, 15.0


@pytest.fixture(autouse=True)
def loopback_ice() -> Iterator[None]:
    """Every test gathers ICE host candidates on 127.0.0.1 only (``--ice-host 127.0.0.1``)."""
    with ice.ice_host("127.0.0.1"):
        yield


@pytest.fixture(autouse=True)
def quiet_media_logs() -> None:
    for name in ("aioice", "aiortc"):
        logging.getLogger(name).setLevel(logging.WARNING)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[object]:
    from tests.harness import make_config, start_server

    running = await start_server(make_config(tmp_path))
    try:
        yield running
    finally:
        await running.stop()
