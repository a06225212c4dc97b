"""Waiting for a condition on an object that signals its changes with an asyncio.Event."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


async def wait_until(check: Callable[[], bool], changed: asyncio.Event, within: float) -> bool:
    """True once `check()` holds (re-checked on every change and 10×/s), False after `within`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(0.1, remaining)):
                await changed.wait()
    return True
