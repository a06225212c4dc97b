"""(1) The simulator and the core produce the same assignments for the same event sequence:
everything the engine fed into the Dispatcher, replayed into a fresh Dispatcher and branch
state, gives identical outbound messages, audit entries and visits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from booth_server.simulate.engine import simulate
from booth_server.simulate.params import Duration, OfficerBehaviour, Scenario
from booth_server.simulate.trace import assignments, read_jsonl, replay, result_payload

# Slow officers: some offers expire, so the trace has Ticks, requeues, not_responding and
# SetStatus, not just the happy path.
SLOW = Scenario(
    capacity=4,
    hours=3,
    officer=OfficerBehaviour(reaction=Duration(dist="lognormal", mean=9.0, cv=0.8)),
)


def test_replay_of_recorded_trace_is_identical(tmp_path: Path) -> None:
    run = simulate(SLOW, seed=11, record_trace=True)
    assert run.trace is not None
    entries = run.trace.entries
    kinds = Counter(type(e.event).__name__ for e in entries)
    assert kinds["Tick"] > 0 and kinds["SetStatus"] > 0 and kinds["Focus"] > 0
    assert any(a.event == "requeued" for e in entries if e.result for a in e.result.audit)

    path = tmp_path / "trace.jsonl"
    run.trace.write_jsonl(path)
    report = replay(path)
    assert report.ok, report.mismatches[:5]
    assert len(report.events) == len(entries)
    for recorded, replayed in zip(entries, report.events, strict=True):
        assert replayed.error == recorded.error
        if recorded.result is None:
            assert replayed.result is None
            continue
        assert replayed.result is not None
        assert result_payload(replayed.result) == result_payload(recorded.result)
        assert assignments(replayed.result) == assignments(recorded.result)
    # Same final branch state (nobody left, same counters).
    engine_state = simulate(SLOW, seed=11).core_visits
    assert report.state.completed == len(engine_state) == run.stats.visits


def test_trace_lines_are_now_event_fields(tmp_path: Path) -> None:
    run = simulate(SLOW.with_(hours=1), seed=2, record_trace=True)
    assert run.trace is not None
    path = tmp_path / "t.jsonl"
    run.trace.write_jsonl(path)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "branch" and len(header["officers"]) == SLOW.officers
    first = json.loads(lines[1])
    assert set(first) >= {"now", "event", "fields", "error", "assignments", "digest"}
    assert first["event"] == "BoothConnected" and first["fields"]["booth_id"] == "B01"
    spec, records = read_jsonl(lines)
    assert spec == run.branch and len(records) == len(run.trace.entries)
    nows = [r["now"] for r in records]
    assert nows == sorted(nows)


def test_tampered_trace_is_reported() -> None:
    run = simulate(SLOW.with_(hours=1), seed=2, record_trace=True)
    assert run.trace is not None
    lines = list(run.trace.lines())
    # Move one Accept to the other officer: the replay must point at it.
    index = next(i for i, line in enumerate(lines) if '"event": "Accept"' in line
                 and '"error": null' in line)
    record = json.loads(lines[index])
    other = "O2" if record["fields"]["officer_id"] != "O2" else "O1"
    record["fields"]["officer_id"] = other
    lines[index] = json.dumps(record)
    report = replay(lines)
    assert not report.ok
    assert report.mismatches[0] == index - 1


def test_core_visits_agree_with_simulated_participants() -> None:
    run = simulate(Scenario(capacity=3, hours=2), seed=4)
    by_id = {v.session_id: v for v in run.core_visits}
    assert len(by_id) == len(run.records) > 0
    for record in run.records:
        visit = by_id[record.session_id]
        assert visit.reason == "completed" and visit.outcome == "claim_submitted"
        assert visit.officer_id == record.officer_id
        assert visit.created_at == record.ready_at
        assert visit.started_at == record.started_at
        assert visit.ended_at == record.ended_at
