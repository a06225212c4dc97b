"""Browser tests: the real booth server, Debian's Chromium driven by Playwright (path and
flags in chromium.py: fake camera and microphone, loopback ICE, a throwaway profile), real
kiosks. Firefox ESR: firefox.py and test_console_firefox.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import struct
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


# ---- where the browser's media goes -------------------------------------------------------
#
# Tests send traffic to loopback only (127.0.0.0/8, ::1). The kiosks gather on 127.0.0.1 and,
# with a loopback --ice-host, take no remote candidate off loopback and answer no check from
# one (booth_client/ice.py); a browser offers its interface addresses too, so its own view of
# every connection is checked here: from getStats, each candidate pair, the selected one and
# the remote candidates it knows.
#
# Where the process may make one (root), each browser test runs in a network namespace of its
# own whose only interface is lo, so nothing in it (server, kiosks, browser, the test) has an
# address to send to but 127.0.0.1 and ::1: Chromium, unlike Firefox, also pairs its interface
# address with the kiosk's 127.0.0.1 and keeps checking such pairs, and the kernel answers
# the checks that reach a kiosk port already closed with an ICMP error to that address.

_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _bring_up_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


@contextlib.contextmanager
def loopback_only_network() -> Iterator[bool]:
    """Moves this thread, and so every process it starts, into a new network namespace with
    lo up and no other interface; back to the host's network afterwards. Yields False, and
    changes nothing, where that is not permitted (no CAP_SYS_ADMIN) or not Linux."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    except (OSError, AttributeError):
        yield False
        return
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            yield False
            return
        try:
            _bring_up_loopback()
            yield True
        finally:
            if libc.setns(home, _CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"cannot return to the host network: {os.strerror(errno)}")
    finally:
        os.close(home)


NETWORK = {True: "a namespace of its own, lo only", False: "the host's (loopback by ICE rules)"}


@pytest.fixture(autouse=True)
def loopback_network() -> Iterator[bool]:
    """Every browser test in a loopback-only network namespace where one can be made (set
    LAPAK_HOST_NETWORK=1 to run on the host's network). Autouse, so it is set up before the
    server, the kiosks and the browser start, and torn down after they stop."""
    if os.environ.get("LAPAK_HOST_NETWORK") == "1":
        yield False
        return
    with loopback_only_network() as private:
        yield private


# Run in the page before its own scripts (Playwright's add_init_script, BiDi's preload
# scripts): keeps every RTCPeerConnection the page makes in window.__testPeers.
TRACK_PEERS = """() => {
    const Native = window.RTCPeerConnection;
    if (!Native || window.__testPeers) return;
    const peers = [];
    class TrackedPeerConnection extends Native {
        constructor(...args) {
            super(...args);
            peers.push(this);
        }
    }
    Object.defineProperty(window, "__testPeers", { value: peers });
    window.RTCPeerConnection = TrackedPeerConnection;
}"""

# Each open peer connection's candidate pairs (with the addresses of both candidates, and
# whether the transport selected the pair) and remote candidates, from getStats.
ICE_ROUTES = """async () => {
    const address = (c) => (c ? c.address ?? c.ip ?? null : null);
    const routes = [];
    for (const pc of window.__testPeers || []) {
        if (pc.connectionState === "closed") continue;
        const report = await pc.getStats();
        const stats = new Map();
        const selected = new Set();
        report.forEach((s) => {
            stats.set(s.id, s);
            if (s.type === "transport" && s.selectedCandidatePairId) {
                selected.add(s.selectedCandidatePairId);
            }
        });
        const pairs = [];
        const remotes = [];
        let framesDecoded = 0;
        report.forEach((s) => {
            if (s.type === "candidate-pair") {
                const local = stats.get(s.localCandidateId);
                const remote = stats.get(s.remoteCandidateId);
                pairs.push({
                    state: s.state,
                    nominated: Boolean(s.nominated),
                    selected: selected.has(s.id) || s.selected === true,
                    local: address(local),
                    localType: local ? local.candidateType : null,
                    remote: address(remote),
                    remoteType: remote ? remote.candidateType : null,
                });
            } else if (s.type === "remote-candidate") {
                remotes.push(address(s));
            } else if (s.type === "inbound-rtp" && s.kind === "video") {
                framesDecoded += s.framesDecoded || 0;
            }
        });
        routes.push({ connectionState: pc.connectionState, pairs, remotes, framesDecoded });
    }
    return routes;
}"""


def on_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def selected_pairs(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The pairs a connection's media uses: the transport's selected pair (Chromium), or the
    nominated pair that succeeded (Firefox marks it `selected` too)."""
    pairs: list[dict[str, Any]] = route["pairs"]
    chosen = [p for p in pairs if p["selected"]]
    return chosen or [p for p in pairs if p["nominated"] and p["state"] == "succeeded"]


def assert_loopback_media(routes: list[dict[str, Any]], expected: int) -> list[str]:
    """Every one of `expected` connected peer connections sends its media over a selected
    pair whose local and remote addresses are both on loopback, decodes video, and has no
    candidate pair or remote candidate off loopback (a pair's remote address is where the
    browser sends its checks). Returns the selected pairs as "local -> remote" lines."""
    connected = [r for r in routes if r["connectionState"] == "connected"]
    assert len(connected) == expected, routes
    lines = []
    for route in connected:
        chosen = selected_pairs(route)
        assert chosen, f"no selected candidate pair: {route}"
        for pair in chosen:
            assert on_loopback(pair["local"]) and on_loopback(pair["remote"]), route
            lines.append(
                f"{pair['local']} ({pair['localType']}) -> {pair['remote']} ({pair['remoteType']})"
            )
        assert route["framesDecoded"] > 0, route
        for pair in route["pairs"]:
            assert on_loopback(pair["remote"]), f"a check off loopback: {pair} in {route}"
        assert all(on_loopback(a) for a in route["remotes"]), route
    return lines


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
    page.add_init_script(script=f"({TRACK_PEERS})()")
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
