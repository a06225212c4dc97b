"""The officer console in real Firefox: Debian's firefox-esr driven over WebDriver BiDi
(tests/browser/firefox.py), the real booth server and three real booth kiosks
(`--synthetic --headless --ice-host 127.0.0.1`, 640×480 at 15 fps).

Checked: sign-in, accepting offers with real clicks, every tile decoding video (framesDecoded
rising in Firefox's getStats) with its first frame soon after accept, the media over loopback
only (every selected candidate pair 127.0.0.1 or ::1 at both ends, no check sent off
loopback), the remote media elements playing under Firefox's autoplay policy, focus by key
and by click moving the officer's microphone and the booth audio (the kiosks receive
`focus`), a document request → capture → review in the viewer, reload restoring every
session with video (again over loopback only), and no JavaScript error. Screenshots go to
artifacts/console-firefox-*.png.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser import firefox
from tests.browser.conftest import (
    ARTIFACTS,
    ICE_ROUTES,
    NETWORK,
    TRACK_PEERS,
    Booths,
    ConsolePage,
    Server,
    assert_loopback_media,
    kiosk_focus,
    live,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow]

LIVE = 3

MEDIA_ELEMENTS = """() => [...document.querySelectorAll(".tile[data-session-id]")].map((tile) => {
    const v = tile.querySelector("video.tile-video");
    const a = tile.querySelector("audio.tile-audio");
    return {
        session_id: tile.dataset.sessionId,
        video: {paused: v.paused, readyState: v.readyState, width: v.videoWidth,
                noPip: v.disablePictureInPicture === true},
        audio: {paused: a.paused, muted: a.muted, readyState: a.readyState},
    };
})"""


@dataclass
class FirefoxConsole(ConsolePage):
    """ConsolePage over a Firefox tab: `page` is a firefox.Tab instead of a Playwright page."""

    def open(self) -> None:
        self.page.navigate(self.server.url + "/console/")

    def state(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.page.evaluate("window.__consoleState")
        return snapshot

    def screenshot(self, name: str) -> Path:
        path: Path = self.page.screenshot(ARTIFACTS / f"console-firefox-{name}.png")
        return path

    def assert_no_errors(self) -> None:
        self.page.collect_errors()
        super().assert_no_errors()

    def media(self) -> dict[str, dict[str, Any]]:
        return {m["session_id"]: m for m in self.page.call(MEDIA_ELEMENTS)}

    def accept_offers(self, until: int, timeout: float) -> None:
        """Clicks Accept (a real mouse click) on offers until `until` sessions are held."""
        deadline = time.monotonic() + timeout
        while len(self.state()["sessions"]) < until:
            if time.monotonic() > deadline:
                self.screenshot("accept-timeout")
                raise AssertionError(f"only {len(self.state()['sessions'])} sessions accepted")
            with contextlib.suppress(firefox.BiDiError):  # no offer showing yet
                self.page.click(".offer-card [data-action='accept']:not([disabled])")
            time.sleep(0.2)


@pytest.fixture
def ff_console(tmp_path: Path, server: Server) -> Iterator[FirefoxConsole]:
    if not firefox.available():
        pytest.skip(f"needs {firefox.FIREFOX} (Debian's firefox-esr)")
    with firefox.launch(tmp_path / "firefox-profile") as tab:
        tab.add_preload_script(TRACK_PEERS)
        cp = FirefoxConsole(tab, server)
        cp.errors = tab.errors  # the tab appends every error it sees to this list
        yield cp


def by_session(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["session_id"]: s for s in state["sessions"]}


def booth_number(session: dict[str, Any]) -> int:
    return int(session["booth_id"].rsplit("-", 1)[1])


def test_console_in_firefox(
    ff_console: FirefoxConsole, booths: Booths, loopback_network: bool
) -> None:
    console, tab = ff_console, ff_console.page
    print(f"browser: {firefox.version()}; network: {NETWORK[loopback_network]}")
    # 640×480 as in the field: the kiosk's document detector finds the synthetic card at once
    # (at 320×240 it falls back to its 45 s capture timeout).
    booths.width, booths.height = 640, 480
    console.open()
    console.login("cso1")
    for n in range(1, LIVE + 1):
        booths.start(n, ticket=f"A-{n:03d}")

    # --- every tile decodes video ---------------------------------------------------------
    console.accept_offers(LIVE, timeout=45)
    state = console.wait(lambda s: live(s, LIVE), 30, "three live tiles in Firefox")
    before = {s["session_id"]: s["framesDecoded"] for s in state["sessions"]}
    time.sleep(2.5)  # the console polls getStats once a second
    state = console.wait(
        lambda s: all(x["framesDecoded"] > before[x["session_id"]] + 10 for x in s["sessions"]),
        5,
        "framesDecoded rising on every tile",
    )
    media = console.media()
    for s in state["sessions"]:
        assert s["pc"]["connectionState"] == "connected", s
        assert (s["frameWidth"], s["frameHeight"]) == (booths.width, booths.height), s
        assert s["fps"] is not None and s["fps"] > 5, s
        assert s["rtt"] is not None and s["loss"] is not None, s  # the quality line has figures
        assert s["hasVideo"] and s["firstFrameAt"] and s["acceptedAt"], s
        assert s["firstFrameAt"] - s["acceptedAt"] < 5000, s
        m = media[s["session_id"]]
        assert not m["video"]["paused"] and m["video"]["width"] == booths.width, m
        assert m["video"]["noPip"], m  # no "pop out" toggle over the tile
        assert not m["audio"]["paused"] and m["audio"]["muted"], m  # playing, not yet heard
    assert tab.evaluate("document.getElementById('audio-banner').hidden") is True
    # Over loopback only: Firefox offers its interface addresses too, but every pair it
    # selected, and every address it sends checks to, is on loopback.
    pairs = assert_loopback_media(tab.call(ICE_ROUTES), LIVE)
    print("firefox: selected candidate pairs " + "; ".join(sorted(set(pairs))))
    print(
        "firefox: framesDecoded "
        + ", ".join(
            f"{s['booth_id']} {before[s['session_id']]}→{s['framesDecoded']}"
            for s in state["sessions"]
        )
        + "; accept→first frame "
        + ", ".join(f"{s['firstFrameAt'] - s['acceptedAt']:.0f} ms" for s in state["sessions"])
        + "; fps "
        + ", ".join(f"{s['fps']:.1f}" for s in state["sessions"])
    )
    console.screenshot("live")

    # --- focus by key, then by click: mic, booth audio and the kiosks follow -----------------
    tab.press("2")
    state = console.wait(lambda s: s["focused"] is not None, 5, "focus on slot 2")
    first = next(s for s in state["sessions"] if s["slot"] == 2)
    assert state["focused"] == first["session_id"]
    for s in state["sessions"]:
        mine = s["session_id"] == first["session_id"]
        assert s["micEnabled"] is mine and s["remoteAudioMuted"] is (not mine), s
    heard = console.media()[first["session_id"]]["audio"]
    assert not heard["paused"] and not heard["muted"], heard  # Firefox plays the booth's voice
    wait_until(
        lambda: kiosk_focus(booths, booth_number(first))[-1:] == [True], 5, what="kiosk focus"
    )

    tab.click(".tile[data-session-id] video.tile-video", nth=2)
    state = console.wait(
        lambda s: s["focused"] not in (None, first["session_id"]), 5, "focus moved by click"
    )
    second = next(s for s in state["sessions"] if s["focused"])
    assert second["slot"] == 3
    assert {s["booth_id"]: s["micEnabled"] for s in state["sessions"]} == {
        s["booth_id"]: s["booth_id"] == second["booth_id"] for s in state["sessions"]
    }
    wait_until(
        lambda: kiosk_focus(booths, booth_number(first))[-1:] == [False], 5, what="kiosk unfocus"
    )
    wait_until(
        lambda: kiosk_focus(booths, booth_number(second))[-1:] == [True], 5, what="kiosk refocus"
    )
    console.screenshot("focus")

    # --- a document: request, the kiosk captures, the viewer (rotate, zoom), approve ----------
    sid = second["session_id"]
    tile = f".tile[data-session-id='{sid}']"
    tab.call("(s) => { document.querySelector(s).value = 'ktp'; }", f"{tile} select.kind-select")
    tab.click(f"{tile} [data-action='request']")
    state = console.wait(
        lambda s: any(d["loaded"] for d in by_session(s)[sid]["documents"]), 45, "the KTP still"
    )
    doc = by_session(state)[sid]["documents"][0]
    assert doc["kind"] == "ktp" and doc["status"] == "pending", doc
    tab.click(f"{tile} .doc-thumb[data-document-id='{doc['document_id']}']")
    wait_until(
        lambda: tab.evaluate(
            "document.querySelector('#document-viewer .viewer-img')?.naturalWidth > 0"
        ),
        5,
        what="the viewer's image",
    )
    tab.click("#document-viewer [data-action='rotate']")
    tab.click("#document-viewer [data-action='zoom-in']")
    assert tab.evaluate("document.getElementById('document-viewer').dataset.rotation") == "90"
    console.screenshot("document-viewer")
    tab.click("#document-viewer [data-action='approve']")
    console.wait(
        lambda s: by_session(s)[sid]["documents"][-1]["status"] == "approved", 5, "approval"
    )
    assert tab.evaluate("document.getElementById('document-viewer')") is None

    # --- reload restores every session with video within 5 s -------------------------------
    ids = {s["session_id"] for s in state["sessions"]}
    reload_ms = time.time() * 1000  # Firefox's Date.now() runs on the same clock
    tab.reload()
    restored = console.wait(
        lambda s: (
            s["signedIn"]
            and {x["session_id"] for x in s["sessions"]} == ids
            and live(s, LIVE, min_frames=3)
        ),
        15,
        "restored after reload",
    )
    first_frames = sorted(s["peerFirstFrameAt"] - reload_ms for s in restored["sessions"])
    print(
        "firefox reload: first frames after "
        + ", ".join(f"{ms:.0f}" for ms in first_frames)
        + " ms"
    )
    assert max(first_frames) <= 5000, f"video restored after {max(first_frames):.0f} ms"
    assert restored["focused"] == second["session_id"]  # the focus survives the reload
    assert_loopback_media(tab.call(ICE_ROUTES), LIVE)  # the new connections too
    console.screenshot("after-reload")
    console.assert_no_errors()
