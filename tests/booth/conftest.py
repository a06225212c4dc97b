"""Fixtures for the booth kiosk tests: loopback-only ICE, the real server, small frames."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from booth_client import ice
from booth_client.officer_peer import OfficerPeer
from booth_client.session import BoothAgent, BoothConfig
from booth_client.sources import SyntheticSource

from .support import stop_server

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
async def server(tmp_path: Path) -> AsyncIterator[Any]:
    from tests.harness import make_config, start_server

    # Short grace periods so lost parties are noticed within a test.
    cfg = make_config(tmp_path, offer_timeout_s=5.0, officer_grace_s=8.0, booth_grace_s=8.0)
    running = await start_server(cfg)
    try:
        yield running
    finally:
        await stop_server(running)


def booth_config(url: str, booth_id: str = "langsa-01", **changes: Any) -> BoothConfig:
    settings: dict[str, Any] = {
        "server_url": url,
        "booth_id": booth_id,
        "token": f"demo-token-{booth_id}",
        "auto_ready": True,
        "ice_host": "127.0.0.1",
        "width": W,
        "height": H,
        "fps": FPS,
        "microphone": False,
        "reconnect_delay_s": 0.2,
        "reconnect_delay_max_s": 1.0,
        "negotiation_timeout_s": 8.0,
    }
    settings.update(changes)
    return BoothConfig(**settings)


BoothFactory = Callable[..., Awaitable[BoothAgent]]
OfficerFactory = Callable[..., Awaitable[OfficerPeer]]


@pytest.fixture
async def make_booth() -> AsyncIterator[BoothFactory]:
    agents: list[BoothAgent] = []

    async def factory(url: str, booth_id: str = "langsa-01", **changes: Any) -> BoothAgent:
        source = SyntheticSource(W, H, FPS, label=booth_id, stall_timeout_s=1.0)
        agent = BoothAgent(booth_config(url, booth_id, **changes), source)
        agents.append(agent)
        await agent.start()
        return agent

    yield factory
    for agent in agents:
        await agent.close()


@pytest.fixture
async def make_officer() -> AsyncIterator[OfficerFactory]:
    officers: list[OfficerPeer] = []

    async def factory(url: str, username: str = "cso1", **kwargs: Any) -> OfficerPeer:
        officer = OfficerPeer(url, username, width=W, height=H, fps=FPS, **kwargs)
        officers.append(officer)
        await officer.start()
        return officer

    yield factory
    for officer in officers:
        await officer.close()
