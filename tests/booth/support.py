"""Helpers shared by the booth tests and scripts/bench_booth.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any


async def stop_server(running: Any) -> None:
    """Stop the in-process server. Works around a booth_server shutdown hang (reported to
    the lead): ``BoothService._timer_loop`` waits with ``asyncio.wait_for``, which on
    Python 3.11 swallows a cancellation that arrives together with a ``wake()``, so
    ``runner.cleanup()`` can wait forever; cancelling that task once more lets it finish."""
    stopping = asyncio.ensure_future(running.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    if not done:
        logging.getLogger(__name__).warning("server shutdown hung; cancelling its timer again")
        for task in asyncio.all_tasks():
            if task.get_name() == "lapak-timers":
                task.cancel()
        await asyncio.wait_for(stopping, 10)
