"""Helpers shared by the booth tests and scripts/bench_booth.py."""

from __future__ import annotations

import asyncio
from typing import Any


async def stop_server(running: Any) -> None:
    """Stop the in-process server, bounded so a hang fails the test instead of the run."""
    await asyncio.wait_for(running.stop(), 15)
