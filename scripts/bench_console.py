#!/usr/bin/env python
"""Benchmark the officer console: one Chromium tab serving six live booths.

A real booth server (demo config, with cso1's capacity raised to 6) and six real
``lapak-asik booth --synthetic --headless`` kiosks sending 640×480 at 15 fps; Debian's
Chromium (fake camera and microphone, loopback ICE) signs in as cso1 with auto-accept on.
Measured:

- the console's CPU share: CPU time (user + system) of the whole Chromium process tree
  (browser, renderer, GPU and utility processes, read from /proc) per wall-clock second over
  a steady window, as a share of one core and of the machine;
- decoded frames per second per tile over that window (``framesDecoded`` from getStats);
- per tile, the time from the console's ``accept`` to the first decoded frame (timed in the
  page with requestVideoFrameCallback).

    .venv/bin/python scripts/bench_console.py [--booths 6] [--seconds 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import chromium  # noqa: E402  (Chromium's path and flags, as in the tests)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench_config(directory: Path, capacity: int) -> Path:
    """The demo config with cso1 able to hold `capacity` sessions."""
    text = (REPO / "config" / "default.toml").read_text()
    text, n = re.subn(
        r'(id = "cso1"\n(?:[^\[]*?\n)*?capacity = )\d+', rf"\g<1>{capacity}", text, count=1
    )
    if n != 1:
        raise SystemExit("could not find cso1's capacity in config/default.toml")
    path = directory / "bench.toml"
    path.write_text(text)
    return path


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the booth server exited during start-up")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, OSError),
            urllib.request.urlopen(url + "/api/health", timeout=2) as response,
        ):
            if json.load(response).get("status") == "ok":
                return
        time.sleep(0.2)
    raise SystemExit("the booth server did not become healthy")


def process_tree(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


def find_browser_pid(profile: Path) -> int:
    """The Chromium browser process: the one started with our --user-data-dir whose parent
    was not itself started with it."""
    marker = f"--user-data-dir={profile}"
    candidates: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if marker in cmdline:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                candidates[int(entry.name)] = ppid
    roots = [pid for pid, ppid in candidates.items() if ppid not in candidates]
    if not roots:
        raise SystemExit("could not find the Chromium process")
    return min(roots)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = bench_config(work, args.booths)
    server_log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "booth_server", "serve", "--port", str(port),
         "--config", str(config)],
        cwd=REPO, stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    kiosks: list[subprocess.Popen[bytes]] = []
    try:
        wait_healthy(url, server)
        with sync_playwright() as pw:
            profile = work / "profile"
            context = pw.chromium.launch_persistent_context(**chromium.launch_options(profile))
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(url + "/console/")
            page.fill("#login-username", "cso1")
            page.fill("#login-password", "demo")
            page.click("#login-submit")
            page.wait_for_function("() => window.__consoleState.connected", timeout=15000)
            page.check("#auto-accept")
            for n in range(1, args.booths + 1):
                log = (work / f"booth-{n:02d}.log").open("wb")
                kiosks.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "booth_server",
                            "booth",
                            "--server",
                            url,
                            "--booth-id",
                            f"langsa-{n:02d}",
                            "--token",
                            f"demo-token-langsa-{n:02d}",
                            "--synthetic",
                            "--headless",
                            "--auto-ready",
                            "--ice-host",
                            "127.0.0.1",
                            "--width",
                            str(args.width),
                            "--height",
                            str(args.height),
                            "--fps",
                            str(args.fps),
                        ],
                        cwd=REPO,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            page.wait_for_function(
                """n => {
                    const s = window.__consoleState;
                    return s.sessions.length === n &&
                        s.sessions.every(x => x.peerFirstFrameAt && x.framesDecoded > 0);
                }""",
                arg=args.booths,
                timeout=90000,
            )
            time.sleep(args.warmup)
            tree = process_tree(find_browser_pid(profile))
            before = page.evaluate("() => window.__consoleState")
            kiosk_pids = [pid for k in kiosks for pid in process_tree(k.pid)]
            cpu0, wall0 = cpu_seconds(tree), time.monotonic()
            kiosk0, machine0 = cpu_seconds(kiosk_pids), machine_busy_seconds()
            time.sleep(args.seconds)
            cpu1, wall1 = cpu_seconds(process_tree(find_browser_pid(profile))), time.monotonic()
            kiosk1, machine1 = cpu_seconds(kiosk_pids), machine_busy_seconds()
            after = page.evaluate("() => window.__consoleState")
            page.screenshot(path=str(REPO / "artifacts" / "console-bench.png"))
            context.close()
    finally:
        for kiosk in kiosks:
            stop(kiosk)
        stop(server)
    wall = wall1 - wall0
    frames0 = {s["session_id"]: s["framesDecoded"] for s in before["sessions"]}
    tiles = []
    for s in sorted(after["sessions"], key=lambda x: x["slot"]):
        tiles.append(
            {
                "slot": s["slot"],
                "booth": s["booth_id"],
                "resolution": f"{s['frameWidth']}x{s['frameHeight']}",
                "decoded_fps": round(
                    (s["framesDecoded"] - frames0.get(s["session_id"], 0)) / wall, 2
                ),
                "accept_to_first_frame_ms": (
                    s["firstFrameAt"] - s["acceptedAt"]
                    if s["acceptedAt"] and s["firstFrameAt"]
                    else None
                ),
                "packet_loss_pct": round(s["loss"] or 0.0, 2),
                "rtt_ms": s["rtt"],
            }
        )
    core_share = (cpu1 - cpu0) / wall
    machine_busy = (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1])
    first_frames = [t["accept_to_first_frame_ms"] for t in tiles if t["accept_to_first_frame_ms"]]
    return {
        "booths": args.booths,
        "sending": f"{args.width}x{args.height}@{args.fps}",
        "window_s": round(wall, 1),
        "cpus": os.cpu_count(),
        "console_cpu_share_of_one_core": round(core_share, 3),
        "console_cpu_share_of_machine": round(core_share / (os.cpu_count() or 1), 3),
        # The kiosks run on the same machine here; their load shapes what the console gets.
        "kiosks_cpu_share_of_one_core": round((kiosk1 - kiosk0) / wall, 3),
        "machine_busy_share": round(machine_busy, 3),
        "decoded_fps_median": statistics.median(t["decoded_fps"] for t in tiles) if tiles else 0,
        "accept_to_first_frame_ms_median": statistics.median(first_frames)
        if first_frames
        else None,
        "accept_to_first_frame_ms_max": max(first_frames) if first_frames else None,
        "tiles": tiles,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--booths", type=int, default=6, help="live booths (1-6)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    parser.add_argument("--json", type=Path, default=REPO / "artifacts" / "bench_console.json")
    args = parser.parse_args()
    if not 1 <= args.booths <= 6:
        parser.error("--booths must be 1 to 6")
    if not chromium.available():
        parser.error(f"needs Chromium at {chromium.CHROMIUM}")
    (REPO / "artifacts").mkdir(exist_ok=True)
    result = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"console with {result['booths']} booths sending {result['sending']}, "
        f"{result['window_s']} s window on {result['cpus']} CPUs"
    )
    print(
        f"  Chromium CPU: {100 * result['console_cpu_share_of_one_core']:.0f}% of one core "
        f"({100 * result['console_cpu_share_of_machine']:.0f}% of the machine)"
    )
    print(
        f"  kiosks on the same machine: {100 * result['kiosks_cpu_share_of_one_core']:.0f}% of one "
        f"core; machine busy {100 * result['machine_busy_share']:.0f}%"
    )
    print(f"  {'slot':>4} {'booth':<10} {'decoded':>10} {'fps':>6} {'accept→frame':>13} "
          f"{'loss':>6} {'rtt':>6}")  # fmt: skip
    for t in result["tiles"]:
        first = t["accept_to_first_frame_ms"]
        print(
            f"  {t['slot']:>4} {t['booth']:<10} {t['resolution']:>10} {t['decoded_fps']:>6.1f} "
            f"{(f'{first:.0f} ms' if first is not None else '—'):>13} "
            f"{t['packet_loss_pct']:>5.1f}% {str(t['rtt_ms']) + ' ms':>6}"
        )
    print(f"  results: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
