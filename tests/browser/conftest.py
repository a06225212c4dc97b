"""Browser tests: the real booth server, Debian's Chromium driven by Playwright (path and
flags in chromium.py: fake camera and microphone, loopback ICE, a throwaway profile), real
kiosks. Firefox ESR: firefox.py and test_console_firefox.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
OFFICER_PASSWORD = "demo"


def booth_id(n: int) -> str:
    return f"langsa-{n:02d}"


def booth_token(n: int) -> str:
    return f"demo-token-langsa-{n:02d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def get_json(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def login(self, username: str, password: str = OFFICER_PASSWORD) -> str:
        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(
            self.url + "/api/login", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            token: str = json.load(response)["token"]
            return token

    def occupancy(self) -> dict[str, Any]:
        data: dict[str, Any] = self.get_json("/api/occupancy", self.login("ops"))
        return data

    def booth_states(self) -> dict[str, str]:
        booths = self.occupancy()["branches"][0]["booths"]
        return {b["id"]: b["state"] for b in booths}


def _server_command(port: int, config: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "booth_server", "serve", "--port", str(port)]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd


def start_server(log_dir: Path, config: Path | None = None) -> Server:
    port = free_port()
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _server_command(port, config), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", port, proc, log)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            return bool(server.get_json("/api/health")["status"] == "ok")
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    wait_until(healthy, 20, what="the booth server")
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path)
    try:
        yield srv
    finally:
        stop_process(srv.proc)


@dataclass
class Booths:
    """Real kiosk processes (`lapak-asik booth --synthetic --headless`)."""

    server: Server
    log_dir: Path
    width: int = 320
    height: int = 240
    fps: int = 15
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, n: int) -> Path:
        return self.log_dir / f"booth-{n:02d}.log"

    def start(self, n: int, ticket: str | None = None) -> None:
        cmd = [
            sys.executable, "-m", "booth_server", "booth",
            "--server", self.server.url,
            "--booth-id", booth_id(n),
            "--token", booth_token(n),
            "--synthetic", "--headless", "--auto-ready",
            "--ice-host", "127.0.0.1",
            "--width", str(self.width), "--height", str(self.height), "--fps", str(self.fps),
            "--log-level", "DEBUG",  # the kiosk logs each state change (focus, review)
        ]  # fmt: skip
        if ticket:
            cmd += ["--ticket", ticket]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log(n).open("wb") as out:
            self.procs[n] = subprocess.Popen(
                cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env
            )

    def log_text(self, n: int) -> str:
        return self.log(n).read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                stop_process(proc, timeout=5)


@pytest.fixture
def booths(server: Server, tmp_path: Path) -> Iterator[Booths]:
    group = Booths(server, tmp_path)
    try:
        yield group
    finally:
        group.stop_all()
        for n in group.procs:
            dest = ARTIFACTS / "logs"
            dest.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(group.log(n), dest / group.log(n).name)


def kiosk_focus(booths: Booths, n: int) -> list[bool]:
    """The kiosk's own record of the `focus` events it applied (its state log)."""
    return [m == "True" for m in re.findall(r"focused=(True|False)", booths.log_text(n))]


# ---- the console's state snapshot (window.__consoleState) -----------------------------------


def live(state: dict[str, Any], n: int, min_frames: int = 1) -> bool:
    """n sessions, every one connected and past min_frames decoded video frames."""
    sessions = state["sessions"]
    return len(sessions) == n and all(
        s["phase"] == "connected" and s["framesDecoded"] >= min_frames for s in sessions
    )


def by_booth(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["booth_id"]: s for s in state["sessions"]}


# ---- the browser ---------------------------------------------------------------------------


def _playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return chromium.available()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A persistent Chromium context (fresh profile) with fake media devices."""
    if not _playwright_available():
        pytest.skip(f"needs Playwright and {chromium.CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            **chromium.launch_options(tmp_path / "profile", ignore_default_args=["--mute-audio"])
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class ConsolePage:
    """A console tab plus the JavaScript errors it raised."""

    page: Any
    server: Server
    errors: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.page.goto(self.server.url + "/console/")

    def login(self, username: str, password: str = OFFICER_PASSWORD) -> None:
        self.page.fill("#login-username", username)
        self.page.fill("#login-password", password)
        self.page.click("#login-submit")
        self.wait(lambda s: s["signedIn"] and s["connected"] and s["stateCount"] > 0, 10, "state")

    def state(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.page.evaluate("() => window.__consoleState")
        return snapshot

    def wait(
        self, predicate: Callable[[dict[str, Any]], Any], timeout: float, what: str
    ) -> dict[str, Any]:
        holder: dict[str, dict[str, Any]] = {}

        def check() -> bool:
            holder["s"] = self.state()
            return bool(predicate(holder["s"]))

        try:
            wait_until(check, timeout, 0.2, what)
        except AssertionError:
            self.screenshot(f"timeout-{what.replace(' ', '-')[:40]}")
            last = holder.get("s")
            raise AssertionError(f"timed out waiting for {what}; last state: {last}") from None
        return holder["s"]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"console-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_no_errors(self) -> None:
        assert not self.errors, "JavaScript errors: " + "\n".join(self.errors)


@pytest.fixture
def console(browser: Any, server: Server) -> ConsolePage:
    page = browser.pages[0] if browser.pages else browser.new_page()
    cp = ConsolePage(page, server)
    page.on("pageerror", lambda exc: cp.errors.append(f"pageerror: {exc}"))

    def on_console(msg: Any) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        # A refused password is the test's own doing, not a console fault.
        if url.endswith("/api/login") and "401" in msg.text:
            return
        cp.errors.append(f"console.error: {msg.text} ({url})")

    page.on("console", on_console)
    return cp
