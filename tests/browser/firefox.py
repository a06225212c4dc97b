"""Debian's Firefox ESR, driven over WebDriver BiDi (Firefox's own remote agent).

Playwright's Firefox is a patched build of its own that cannot be had here; Debian's
`firefox-esr` speaks the W3C WebDriver BiDi protocol itself when started with
``--remote-debugging-port``, so a small client over WebSocket (websocket-client, a dev
dependency already) is all it takes: no geckodriver, no browser download.

Firefox runs headless on a fresh profile whose prefs give it a fake camera and microphone
without a prompt, loopback ICE candidates, and no traffic beyond loopback (updates, telemetry,
remote settings, safe browsing and the like off; anything that still tries goes to a dead
proxy on 127.0.0.1).

Loopback ICE takes more than ``media.peerconnection.ice.loopback``, which only lets 127.0.0.1
and ::1 through nICEr's address filter: a page that neither captures the camera or microphone
nor holds a permission for them gets just the "default route" address, the one the kernel
would use towards the page's server, or towards 8.8.8.8 when that server is on loopback, i.e.
this machine's own interface address (``media.peerconnection.ice.default_address_only`` can
only add to that rule). A fake device does not count as capturing, so
``permissions.default.camera`` and ``.microphone`` = 1 grant both to every page, and Firefox
gathers on every interface, 127.0.0.1 and ::1 included. It still offers its interface
addresses beside them (ESR 153 ignores ``media.peerconnection.ice.force_interface``: nICEr
never gets the interface name), but nICEr pairs a loopback candidate only with a loopback one,
and the kiosks (``--ice-host 127.0.0.1``) take no remote candidate off loopback
(booth_client/ice.py), so every check and every media packet goes from 127.0.0.1 to
127.0.0.1. conftest.py checks that from getStats (``assert_loopback_media``), and runs the
browser tests in a network namespace with only lo where it may.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

FIREFOX = "/usr/bin/firefox-esr"

# Prefs of the throwaway profile (written to user.js before the first start).
FIREFOX_PREFS: dict[str, bool | int | str] = {
    # WebRTC with fake media, no permission prompt, no mDNS host names, host candidates on
    # loopback (see the module's docstring), no ICE-TCP; no STUN/TURN server is configured.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "permissions.default.camera": 1,
    "permissions.default.microphone": 1,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.default_address_only": False,
    "media.peerconnection.ice.link_local": False,
    "media.peerconnection.ice.tcp": False,
    # Background tabs and occluded windows must not throttle timers or media in tests.
    "dom.min_background_timeout_value": 4,
    "media.block-autoplay-until-in-foreground": False,
    # No first-run pages or dialogs.
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.firstRunURL": "",
    "browser.tabs.warnOnClose": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
    # Nothing beyond loopback: no updates, telemetry, studies, remote settings, safe browsing,
    # captive-portal or connectivity probes, push, prefetching, GMP (OpenH264) downloads.
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "nimbus.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.system.topsites": False,
    "browser.newtabpage.activity-stream.feeds.snippets": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.search.update": False,
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "geo.provider.network.url": "",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.http.speculative-parallel-limit": 0,
    "network.trr.mode": 5,
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": "",
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "identity.fxaccounts.enabled": False,
    "signon.rememberSignons": False,
    # Whatever still asks for the network meets a closed port; loopback is never proxied.
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": 9,
    "network.proxy.no_proxies_on": "",
    "network.proxy.allow_hijacking_localhost": False,
}


def available() -> bool:
    return Path(FIREFOX).exists()


def version() -> str:
    out = subprocess.run([FIREFOX, "--version"], capture_output=True, text=True, timeout=20)
    return out.stdout.strip()


def write_profile(directory: Path, prefs: dict[str, bool | int | str] = FIREFOX_PREFS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in prefs.items()]
    (directory / "user.js").write_text("\n".join(lines) + "\n")
    return directory


class BiDiError(RuntimeError):
    pass


class BiDi:
    """A minimal synchronous WebDriver BiDi client: commands, and events kept in a list."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def send(self, method: str, params: dict[str, Any], timeout: float = 30.0) -> Any:
        with self.lock:
            self.next_id += 1
            ident = self.next_id
            self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            deadline = time.monotonic() + timeout
            while True:
                self.ws.settimeout(max(0.1, deadline - time.monotonic()))
                message = json.loads(self.ws.recv())
                if message.get("type") == "event":
                    self.events.append(message)
                    continue
                if message.get("id") != ident:
                    continue
                if message.get("type") == "error":
                    raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
                return message["result"]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


@dataclass
class Tab:
    """One browsing context of a BiDi session, with the helpers the console tests need."""

    bidi: BiDi
    context: str
    errors: list[str] = field(default_factory=list)
    seen_events: int = 0

    def add_preload_script(self, function: str) -> None:
        """Runs a JavaScript function in every document this browser loads from now on,
        before the page's own scripts."""
        self.bidi.send("script.addPreloadScript", {"functionDeclaration": function})

    def navigate(self, url: str) -> None:
        self.bidi.send(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    def reload(self) -> None:
        self.bidi.send("browsingContext.reload", {"context": self.context, "wait": "complete"})

    def set_viewport(self, width: int, height: int) -> None:
        self.bidi.send(
            "browsingContext.setViewport",
            {"context": self.context, "viewport": {"width": width, "height": height}},
        )

    def call(self, function: str, *args: Any) -> Any:
        """Runs a JavaScript function in the page; its result comes back through JSON."""
        wrapper = (
            f"async (...raw) => JSON.stringify(await ({function})(...raw.map(JSON.parse))) ?? null"
        )
        result = self.bidi.send(
            "script.callFunction",
            {
                "functionDeclaration": wrapper,
                "arguments": [{"type": "string", "value": json.dumps(a)} for a in args],
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        self.collect_errors()
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise BiDiError(f"page script failed: {details.get('text')}")
        value = result["result"]
        if value.get("type") != "string":
            return None
        return json.loads(value["value"])

    def evaluate(self, expression: str) -> Any:
        return self.call(f"() => ({expression})")

    def center(self, selector: str, nth: int = 0) -> tuple[float, float]:
        box = self.call(
            """(sel, nth) => {
                const node = document.querySelectorAll(sel)[nth];
                if (!node) return null;
                node.scrollIntoView({block: "nearest"});
                const r = node.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }""",
            selector,
            nth,
        )
        if box is None:
            raise BiDiError(f"no element {selector!r} #{nth}")
        return float(box[0]), float(box[1])

    def click_at(self, x: float, y: float) -> None:
        """A real (trusted) mouse click: a user gesture for autoplay and the audio context."""
        self.bidi.send(
            "input.performActions",
            {
                "context": self.context,
                "actions": [
                    {
                        "type": "pointer",
                        "id": "mouse",
                        "parameters": {"pointerType": "mouse"},
                        "actions": [
                            {"type": "pointerMove", "x": round(x), "y": round(y)},
                            {"type": "pointerDown", "button": 0},
                            {"type": "pointerUp", "button": 0},
                        ],
                    }
                ],
            },
        )

    def click(self, selector: str, nth: int = 0) -> None:
        self.click_at(*self.center(selector, nth))

    def type_text(self, text: str) -> None:
        keys: list[dict[str, str]] = []
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.bidi.send(
            "input.performActions",
            {"context": self.context, "actions": [{"type": "key", "id": "kbd", "actions": keys}]},
        )

    def fill(self, selector: str, text: str) -> None:
        self.call("(sel) => { const n = document.querySelector(sel); n.value = ''; }", selector)
        self.click(selector)
        self.type_text(text)

    def press(self, key: str) -> None:
        self.type_text(key)

    def screenshot(self, path: Path) -> Path:
        data = self.bidi.send("browsingContext.captureScreenshot", {"context": self.context})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def collect_errors(self) -> list[str]:
        """JavaScript errors and console.error calls logged since the last look."""
        for event in self.bidi.events[self.seen_events :]:
            if event.get("method") != "log.entryAdded":
                continue
            entry = event["params"]
            if entry.get("level") == "error":
                where = (entry.get("stackTrace") or {}).get("callFrames") or [{}]
                self.errors.append(
                    f"{entry.get('type')}: {entry.get('text')} ({where[0].get('url', '')})"
                )
        self.seen_events = len(self.bidi.events)
        return self.errors


_LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")


@contextlib.contextmanager
def launch(profile: Path, width: int = 1600, height: int = 900) -> Iterator[Tab]:
    """Starts headless Firefox on a fresh profile and yields its first tab over BiDi."""
    write_profile(profile)
    log = (profile.parent / f"{profile.name}-firefox.log").open("wb")
    proc = subprocess.Popen(
        [
            FIREFOX,
            "--headless",
            "--no-remote",
            "--profile",
            str(profile),
            "--remote-debugging-port",
            "0",
            "--remote-allow-hosts",
            "127.0.0.1",
            "about:blank",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    endpoint: list[str] = []

    def pump() -> None:  # Firefox's own output: the endpoint line, then on to the log file
        assert proc.stdout is not None
        for line in proc.stdout:
            match = _LISTENING.search(line)
            if match and not endpoint:
                endpoint.append(match.group(1).decode())
            log.write(line)
            log.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    bidi: BiDi | None = None
    try:
        deadline = time.monotonic() + 30
        while not endpoint:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BiDiError(f"Firefox did not start its BiDi server (see {log.name})")
            time.sleep(0.05)
        bidi = BiDi(endpoint[0] + "/session")
        bidi.send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})
        bidi.send("session.subscribe", {"events": ["log.entryAdded"]})
        tree = bidi.send("browsingContext.getTree", {})
        tab = Tab(bidi, tree["contexts"][0]["context"])
        tab.set_viewport(width, height)
        yield tab
    finally:
        if bidi is not None:
            with contextlib.suppress(Exception):
                bidi.send("browser.close", {}, timeout=5)
            bidi.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        log.close()
