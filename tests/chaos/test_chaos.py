"""The chaos run (scripts/chaos.py) in a small configuration: 3 server processes on a private
Redis, 40 booths and 8 officers as real Socket.IO clients, server processes SIGKILLed and
restarted, Redis killed and restarted once; the audit log and the clients' records must show
no broken invariant. Plus the checker itself, on logs that do break them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.redis_server import available

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import chaos  # noqa: E402


def entry(event: str, session: str, *, booth: str = "b1", officer: str | None = None,
          reason: str | None = None, at: float = 0.0) -> Any:
    return SimpleNamespace(event=event, session_id=session, booth_id=booth, officer_id=officer,
                           reason=reason, at=at)


def test_replay_accepts_a_clean_log() -> None:
    out = chaos.Replay()
    chaos.replay_audit([
        entry("ready", "s1"), entry("offered", "s1", officer="o1"),
        entry("session_started", "s1", officer="o1"),
        entry("session_ended", "s1", officer="o1", reason="completed"),
        entry("ready", "s2"), entry("offered", "s2", officer="o1"),
        entry("requeued", "s2", officer="o1", reason="offer_expired"),
        entry("offered", "s2", officer="o2"),
    ], {"o1": 1, "o2": 1}, out)
    assert out.violations == []
    assert out.created == {"s1": "b1", "s2": "b1"}
    assert out.ended == {"s1": "completed"}
    assert out.peak_ratio == 1.0


def test_replay_finds_every_kind_of_violation() -> None:
    out = chaos.Replay()
    chaos.replay_audit([
        entry("ready", "s1", booth="b1"), entry("ready", "s2", booth="b2"),
        entry("offered", "s1", officer="o1"), entry("offered", "s2", officer="o1"),
        entry("offered", "s1", officer="o2"),
        entry("ready", "s3", booth="b1"),
        entry("session_ended", "s2", booth="b2", officer="o1", reason="completed"),
        entry("session_ended", "s2", booth="b2", reason="completed"),
    ], {"o1": 1, "o2": 5}, out)
    text = "\n".join(out.violations)
    assert "o1 held 2 > capacity 1" in text
    assert "s1 with two officers" in text
    assert "booth b1 in two sessions" in text
    assert "s2 ended twice" in text


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(240)
@pytest.mark.skipif(not available(), reason="redis-server is not installed")
def test_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "chaos.py"), "--servers", "3",
         "--booths", "40", "--officers", "8", "--booths-per-branch", "20",
         "--duration", "45", "--kill-every", "6", "--restart-after", "1.0",
         "--settle", "4", "--workdir", str(tmp_path / "run"), "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=220,
    )
    print(run.stdout[-4000:])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["violations"] == []
    assert figures["server_kills"] >= 3
    assert figures["redis_restarts"] == 1
    assert figures["clients"] == 48
    assert figures["clients_dropped"] > 0
    assert figures["clients_reconnected"] == figures["clients_dropped"]
    assert figures["clients_connected_at_end"] == figures["clients"]
    assert figures["sessions_lost"] == 0
    assert figures["sessions_created"] > 100
    assert figures["visits_recorded"] == figures["sessions_ended"]
    assert figures["officer_peak_load_ratio"] <= 1.0
