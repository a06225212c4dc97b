#!/usr/bin/env python
"""Benchmark one booth kiosk on loopback: CPU, delivered frame rate, time to first frame.

For each sending resolution (640×480 and 1280×720 at 30 fps by default) a real
``lapak-asik booth --synthetic`` subprocess serves a session through the real booth server
(in this process) to a headless officer (in this process) that sends its own 640×480 video
back. Measured over a steady window after warm-up:

- the booth process's CPU time (user + system, all its threads, read from /proc/PID/stat)
  per wall-clock second, as a share of one core — this includes capture, encoding what it
  sends and decoding what it receives from the officer;
- the frame rate and resolution the officer actually decodes from the booth;
- the frame rate the booth decodes from the officer (from the booth's own stats log).

Then, with an in-process booth, the time from the officer's ``accept`` to the first decoded
frame at the officer, over several sessions (median, min, max).

Targets (issue 3): 1280×720 at 30 fps delivered with under 60% of one core; first frame
under 1 s (median) on loopback.

    .venv/bin/python scripts/bench_booth.py [--seconds 10] [--sessions 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from booth_client import ice  # noqa: E402
from booth_client.officer_peer import OfficerPeer, OfficerSession  # noqa: E402
from booth_client.session import BoothAgent, BoothConfig  # noqa: E402
from booth_client.sources import SyntheticSource  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STATS_LINE = re.compile(r"sent_fps=([\d.]+) .*received_fps=([\d.]+) received=(\d+)x(\d+)")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads, without psutil."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class SendResult:
    width: int
    height: int
    fps: float
    cpu_share: float
    sent_fps: float
    delivered_fps: float
    delivered_size: tuple[int, int]
    received_fps: float
    received_size: tuple[int, int]


async def _wait_session(officer: OfficerPeer, frames: int, within: float) -> OfficerSession:
    ok = await officer.wait_for(
        lambda o: any(s.frames >= frames for s in o.live_sessions()), within=within
    )
    if not ok:
        raise RuntimeError(f"no video reached the officer within {within} s")
    return next(s for s in officer.live_sessions() if s.frames >= frames)


async def measure_sending(
    url: str, officer_name: str, booth_id: str, width: int, height: int, fps: float,
    seconds: float, warmup: float,
) -> SendResult:  # fmt: skip
    officer = OfficerPeer(url, officer_name, width=640, height=480, fps=30)
    await officer.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "booth_client",
        "--server", url, "--booth-id", booth_id, "--token", f"demo-token-{booth_id}",
        "--synthetic", "--headless", "--auto-ready", "--ice-host", "127.0.0.1",
        "--width", str(width), "--height", str(height), "--fps", str(fps),
        "--no-microphone", "--stats-interval", "1",
        cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            lines.append(raw.decode(errors="replace").rstrip())

    reader = asyncio.ensure_future(read_log())
    try:
        session = await _wait_session(officer, 1, within=30)
        await asyncio.sleep(warmup)
        cpu0, t0, f0 = process_cpu_seconds(proc.pid), time.monotonic(), session.frames
        await asyncio.sleep(seconds)
        cpu1, t1, f1 = process_cpu_seconds(proc.pid), time.monotonic(), session.frames
        stats = [m for line in lines if (m := STATS_LINE.search(line))]
        window = stats[-int(seconds) :]
        sent_fps = statistics.mean(float(m.group(1)) for m in window) if window else 0.0
        received_fps = float(stats[-1].group(2)) if stats else 0.0
        received_size = (int(stats[-1].group(3)), int(stats[-1].group(4))) if stats else (0, 0)
        await officer.complete(session.session_id)
        return SendResult(
            width, height, fps,
            cpu_share=(cpu1 - cpu0) / (t1 - t0),
            sent_fps=sent_fps,
            delivered_fps=(f1 - f0) / (t1 - t0),
            delivered_size=(session.sink.width, session.sink.height),
            received_fps=received_fps,
            received_size=received_size,
        )  # fmt: skip
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await officer.close()


async def measure_first_frame(url: str, sessions: int, width: int, height: int) -> list[float]:
    """Accept → first decoded frame at the officer, for ``sessions`` consecutive visits."""
    officer = OfficerPeer(url, "cso3", width=640, height=480, fps=30)
    await officer.start()
    config = BoothConfig(
        server_url=url, booth_id="langsa-12", token="demo-token-langsa-12", auto_ready=True,
        ice_host="127.0.0.1", width=width, height=height, fps=30, microphone=False,
        ended_display_s=0.2, next_participant_delay_s=0.3,
    )  # fmt: skip
    agent = BoothAgent(config, SyntheticSource(width, height, 30))
    await agent.start()
    results: list[float] = []
    try:
        for _ in range(sessions):
            done = {s.session_id for s in officer.sessions.values() if not s.live}

            def started(o: OfficerPeer, done: set[str] = done) -> bool:
                return any(s.frames >= 1 and s.session_id not in done for s in o.live_sessions())

            ok = await officer.wait_for(started, within=20)
            if not ok:
                raise RuntimeError("no first frame within 20 s")
            session = next(s for s in officer.live_sessions() if s.frames >= 1)
            assert session.first_frame_s is not None
            results.append(session.first_frame_s)
            await officer.complete(session.session_id)
            ended = session

            def finished(o: OfficerPeer, s: OfficerSession = ended) -> bool:
                return not s.live

            await officer.wait_for(finished, within=5)
    finally:
        await agent.close()
        await officer.close()
    return results


async def run(args: argparse.Namespace) -> int:
    from tests.booth.support import stop_server
    from tests.harness import make_config, start_server

    ice.restrict_host_candidates("127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(make_config(Path(tmp)))
        try:
            sending: list[SendResult] = []
            cases = [(640, 480), (1280, 720)]
            for i, (w, h) in enumerate(cases):
                print(f"measuring {w}x{h} at {args.fps:g} fps for {args.seconds:g} s …", flush=True)
                sending.append(
                    await measure_sending(
                        server.url,
                        f"cso{i + 1}",
                        f"langsa-{i + 1:02d}",
                        w,
                        h,
                        args.fps,
                        args.seconds,
                        args.warmup,
                    )
                )
            print(f"measuring accept → first frame over {args.sessions} sessions …", flush=True)
            first = await measure_first_frame(server.url, args.sessions, 640, 480)
        finally:
            await stop_server(server)

    cores = os.cpu_count() or 1
    print()
    print(f"booth benchmark — loopback, {cores} cores, officer sends 640x480 at 30 fps")
    print()
    header = (
        f"{'booth sends':<18}{'CPU (1 core)':>13}{'sent':>10}{'delivered':>20}"
        f"{'booth receives':>22}{'target':>16}"
    )
    print(header)
    print("-" * len(header))
    worst = True
    for r in sending:
        target = ""
        if (r.width, r.height) == (1280, 720):
            met = r.cpu_share < 0.60 and r.delivered_fps >= 0.9 * r.fps
            worst = worst and met
            target = "<60%: " + ("met" if met else "MISSED")
        print(
            f"{f'{r.width}x{r.height} @{r.fps:g}':<18}{r.cpu_share * 100:>12.0f}%"
            f"{f'{r.sent_fps:.1f} fps':>10}"
            f"{f'{r.delivered_fps:.1f} fps {r.delivered_size[0]}x{r.delivered_size[1]}':>20}"
            f"{f'{r.received_fps:.1f} fps {r.received_size[0]}x{r.received_size[1]}':>22}"
            f"{target:>16}"
        )
    median = statistics.median(first)
    first_met = median < 1.0
    print()
    print(
        f"accept → first decoded frame at the officer (640x480, {len(first)} sessions): "
        f"median {median * 1000:.0f} ms, min {min(first) * 1000:.0f} ms, "
        f"max {max(first) * 1000:.0f} ms — target <1 s: {'met' if first_met else 'MISSED'}"
    )
    return 0 if worst and first_met else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per case")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument(
        "--sessions", type=int, default=7, help="sessions for the first-frame median"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("aioice", "aiortc", "lapak", "booth_client"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
