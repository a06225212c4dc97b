from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import RunningServer, make_config, start_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    cfg = make_config(tmp_path, offer_timeout_s=1.0, officer_grace_s=1.5, booth_grace_s=1.5,
                      wait_alert_s=1.0)
    running = await start_server(cfg)
    try:
        yield running
    finally:
        await running.stop()
