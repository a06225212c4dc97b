"""`lapak-asik serve` as a process: config errors, production refusal, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import socketio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from booth_server.config import default_config_path
from tests.harness import free_port

SERVE = [sys.executable, "-m", "booth_server", "serve"]


def test_bad_config_is_reported_and_server_does_not_start(tmp_path: Path) -> None:
    text = default_config_path().read_text().replace("offer_timeout_s = 15",
                                                     "offer_timeout_s = -3")
    text = text.replace("[limits]", "[limits]\nmax_event_kb = 10", 1)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    proc = subprocess.run([*SERVE, "--config", str(bad), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr
    assert "dispatch.offer_timeout_s" in proc.stderr
    assert "limits.max_event_kb" in proc.stderr


def test_production_refuses_demo_credentials() -> None:
    proc = subprocess.run([*SERVE, "--production", "--port", str(free_port())],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "refusing to start in production" in proc.stderr
    assert "demo" in proc.stderr.lower()
    # No secret is printed while refusing.
    assert "demo-token-langsa-01" not in proc.stderr + proc.stdout


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_https_and_wss(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    text = default_config_path().read_text().replace(
        "token_ttl_s = 43200", f'token_ttl_s = 43200\ntls_cert = "{cert}"\ntls_key = "{key}"')
    config = tmp_path / "tls.toml"
    config.write_text(text)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *SERVE, "--config", str(config), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    try:
        url = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{url}/api/health", ssl=ctx) as r:
                        assert (await r.json())["status"] == "ok"
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the TLS server did not answer")
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as tls:
                sio = socketio.AsyncClient(http_session=tls)
                await sio.connect(url, namespaces=["/booth"], transports=["websocket"],
                                  auth={"booth_id": "langsa-01",
                                        "token": "demo-token-langsa-01"}, wait_timeout=20)
                reply = await sio.call("ready", {}, namespace="/booth")
                assert reply["ok"] is True
                await sio.disconnect()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


def test_demo_stopped_by_sigterm_stops_its_server_and_booths() -> None:

    port = free_port()
    children: list[str] = []
    demo = subprocess.Popen([sys.executable, "-m", "booth_server", "demo", "--port", str(port),
                             "--booths", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert demo.stdout is not None
        # The banner is printed once the server answers and the booth was started.
        for line in demo.stdout:
            if "simulated booths" in line:
                break
        children = subprocess.run(["pgrep", "-P", str(demo.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 2  # the server and one booth
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        alive = children
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
                     and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
            time.sleep(0.2)
        assert alive == []
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
            raise AssertionError("the server still answers")
        except OSError:
            pass
    finally:
        if demo.poll() is None:
            demo.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
