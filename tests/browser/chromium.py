"""Debian's Chromium as the browser tests and ``scripts/bench_console.py`` start it.

One place for its path and flags: headless on a throwaway profile, no traffic of its own, no
throttling of background tabs; for the console, a fake camera and microphone without a prompt
and WebRTC host candidates on loopback, unmasked. Playwright drives it and never downloads a
browser of its own. Importable without pytest (the benchmark uses it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Background tabs and occluded windows must not throttle timers or media.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
]

CHROMIUM_MEDIA_FLAGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    *CHROMIUM_FLAGS,
]


def available() -> bool:
    return Path(CHROMIUM).exists()


def launch_options(profile: Path, *, media: bool = True, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch_persistent_context`` (sync or
    async API): a fresh profile in `profile`, the flags above, a 1600×900 viewport unless
    `extra` says otherwise."""
    return {
        "user_data_dir": str(profile),
        "executable_path": CHROMIUM,
        "headless": False,  # --headless=new is in the flags
        "args": CHROMIUM_MEDIA_FLAGS if media else CHROMIUM_FLAGS,
        "viewport": {"width": 1600, "height": 900},
        **extra,
    }
