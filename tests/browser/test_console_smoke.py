"""The console against the real server with signaling-only booths (no media): sign-in, offers,
accept / decline, focus, language, complete; and no JavaScript errors along the way."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.browser.conftest import (
    ROOT,
    ConsolePage,
    Server,
    booth_id,
    booth_token,
    start_server,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.browser


class SignalingBooth:
    """A kiosk that only speaks the /booth namespace: enough to drive offers and sessions."""

    def __init__(self, server: Server, n: int) -> None:
        self.id = booth_id(n)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for name in ("queued", "assigned", "signal", "focus", "document_requested",
                     "document_reviewed", "session_ended"):  # fmt: skip
            self.client.on(name, self._recorder(name), namespace="/booth")
        self.client.connect(
            server.url,
            namespaces=["/booth"],
            transports=["websocket"],
            auth={"booth_id": self.id, "token": booth_token(n)},
        )

    def _recorder(self, name: str) -> Any:
        def record(data: dict[str, Any]) -> None:
            with self.lock:
                self.events.append((name, data))

        return record

    def ready(self, ticket: str) -> dict[str, Any]:
        ack: dict[str, Any] = self.client.call("ready", {"ticket": ticket}, namespace="/booth")
        assert ack["ok"], ack
        return ack

    def received(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def close(self) -> None:
        self.client.disconnect()


def test_sign_in_offers_focus_complete(console: ConsolePage, server: Server) -> None:
    page = console.page
    console.open()
    page.wait_for_selector("#login-form")
    assert page.inner_text("#login-submit") == "Masuk"  # Indonesian by default
    console.screenshot("login")

    page.fill("#login-username", "cso1")
    page.fill("#login-password", "wrong")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "Gagal masuk" in page.inner_text("#login-error")

    console.login("cso1")
    state = console.state()
    assert state["officer"]["capacity"] == 5
    assert page.locator(".tile-empty").count() == 5

    # Status: paused then available again, each acknowledged by the server.
    page.click("#status-switch button[data-status='paused']")
    console.wait(lambda s: s["officer"]["status"] == "paused", 5, "paused")
    page.click("#status-switch button[data-status='available']")
    console.wait(lambda s: s["officer"]["status"] == "available", 5, "available")

    first = SignalingBooth(server, 1)
    second = SignalingBooth(server, 2)
    try:
        first.ready("A-001")
        console.wait(lambda s: len(s["offers"]) == 1, 10, "an offer")
        card = page.locator(".offer-card")
        assert "Bilik 01" in card.inner_text() and "A-001" in card.inner_text()
        assert int(page.inner_text(".offer-card .countdown").split()[0]) > 0
        console.screenshot("offer")
        page.click(".offer-card [data-action='accept']")
        state = console.wait(lambda s: len(s["sessions"]) == 1, 10, "a session")
        session_id = state["sessions"][0]["session_id"]
        wait_until(lambda: first.received("assigned"), 5, what="assigned")
        assert page.locator(".tile[data-session-id]").count() == 1
        assert "A-001" in page.inner_text(".tile[data-session-id]")

        second.ready("A-002")
        console.wait(lambda s: len(s["offers"]) == 1, 10, "second offer")
        page.click(".offer-card [data-action='decline']")
        console.wait(lambda s: not s["offers"], 10, "offer gone after decline")

        # Focus by key: the kiosk is told, and the tile shows it.
        page.keyboard.press("1")
        console.wait(lambda s: s["focused"] == session_id, 5, "focus")
        wait_until(
            lambda: any(f.get("focused") for f in first.received("focus")), 5, what="kiosk focus"
        )
        assert page.locator(".tile.focused").count() == 1

        # English, and back.
        page.click(".topbar [data-lang='en']")
        assert page.inner_text("#logout") == "Sign out"
        page.click(".topbar [data-lang='id']")
        assert page.inner_text("#logout") == "Keluar"

        # A request the server rejects shows its message (a completed session is unknown).
        page.click(".tile[data-session-id] [data-action='complete']")
        page.select_option("#complete-dialog select[name='outcome']", "referred")
        page.fill("#complete-dialog textarea[name='note']", "dirujuk ke kantor cabang")
        console.screenshot("complete-dialog")
        page.click("#complete-dialog button[type='submit']")
        console.wait(lambda s: not s["sessions"], 10, "session completed")
        wait_until(lambda: first.received("session_ended"), 5, what="kiosk session_ended")
    finally:
        first.close()
        second.close()
    console.assert_no_errors()


def test_reload_keeps_sign_in_and_sessions(console: ConsolePage, server: Server) -> None:
    console.open()
    console.login("cso2")
    booth = SignalingBooth(server, 3)
    try:
        booth.ready("B-003")
        console.wait(lambda s: len(s["offers"]) == 1, 10, "an offer")
        console.page.click(".offer-card [data-action='accept']")
        state = console.wait(lambda s: len(s["sessions"]) == 1, 10, "a session")
        session_id = state["sessions"][0]["session_id"]
        console.page.reload()
        state = console.wait(
            lambda s: s["connected"] and len(s["sessions"]) == 1, 10, "restored session"
        )
        assert state["sessions"][0]["session_id"] == session_id
        assert state["officer"]["id"] == "cso2"

        # Transfer back to the queue: the tile goes, the kiosk is queued again.
        page = console.page
        page.click(f".tile[data-session-id='{session_id}'] [data-action='transfer']")
        page.wait_for_selector("#transfer-dialog select[name='officer_id']")
        console.screenshot("transfer-dialog")
        page.select_option("#transfer-dialog select[name='officer_id']", "")
        page.click("#transfer-dialog button[type='submit']")
        console.wait(lambda s: not any(x["session_id"] == session_id for x in s["sessions"]), 5,
                     "transferred away")  # fmt: skip
        wait_until(lambda: len(booth.received("queued")) >= 1, 5, what="kiosk queued again")
    finally:
        booth.close()
    console.assert_no_errors()


def test_unfocused_booth_is_highlighted(
    console: ConsolePage, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """With the server's unfocused_alert_s at 2 s, a booth left alone gets the overdue mark."""
    text = (ROOT / "config" / "default.toml").read_text()
    text, n = re.subn(r"unfocused_alert_s = \d+", "unfocused_alert_s = 2", text)
    assert n == 1
    config = tmp_path / "alert.toml"
    config.write_text(text)
    server = start_server(tmp_path, config)
    request.addfinalizer(lambda: stop_process(server.proc))
    console.server = server
    console.open()
    console.login("cso3")
    assert console.state()["unfocusedAlertS"] == 2
    booth = SignalingBooth(server, 4)
    try:
        booth.ready("C-004")
        console.wait(lambda s: len(s["offers"]) == 1, 10, "an offer")
        console.page.click(".offer-card [data-action='accept']")
        state = console.wait(lambda s: s["sessions"] and s["sessions"][0]["overdue"], 8, "overdue")
        assert "new" in state["sessions"][0]["attention"]
        assert state["next"] == state["sessions"][0]["session_id"]
        console.page.wait_for_selector(".tile.overdue")
        console.screenshot("overdue")
        console.page.click("#next-go")
        console.wait(lambda s: s["focused"] and not s["sessions"][0]["overdue"], 5, "served")
    finally:
        booth.close()
    console.assert_no_errors()
