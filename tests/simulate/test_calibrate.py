"""(4) Calibration recovers known parameters from a synthetic audit log.

The log comes from the simulator itself driving the core, at N = 1 so that no review waits
for the officer's attention (at N > 1 the review figure is an upper bound)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from booth_server.simulate.calibrate import calibrate, load_audit, reject_probability
from booth_server.simulate.params import (
    Arrivals,
    DocumentNeed,
    DocumentPhase,
    Duration,
    OfficerBehaviour,
    Scenario,
    SimplePhase,
    VisitModel,
)


def _d(mean: float, cv: float = 0.4) -> Duration:
    return Duration(dist="lognormal", mean=mean, cv=cv)


KNOWN = Scenario(
    officers=3,
    capacity=1,
    hours=30,
    arrivals=Arrivals(per_hour=(6.0,)),
    officer=OfficerBehaviour(reaction=_d(6.0, 0.5)),
    visit=VisitModel(
        phases=(
            SimplePhase(name="greeting", attention=True, duration=_d(30.0)),
            SimplePhase(name="identity_check", attention=True, duration=_d(60.0)),
            DocumentPhase(
                documents=(DocumentNeed(kind="ktp"), DocumentNeed(kind="kpj"),
                           DocumentNeed(kind="paklaring"),
                           DocumentNeed(kind="npwp", probability=0.5)),
                request=_d(15.0, 0.3),
                capture=_d(50.0, 0.5),
                review=_d(40.0, 0.4),
                reject_probability=0.25,
            ),
            SimplePhase(name="data_entry", attention=True, duration=_d(100.0)),
            SimplePhase(name="claim_processing", attention=False, duration=_d(300.0)),
            SimplePhase(name="closing", attention=True, duration=_d(40.0)),
        )
    ),
)


@pytest.fixture(scope="module")
def audit() -> list[dict[str, object]]:
    from booth_server.simulate.engine import simulate

    run = simulate(KNOWN, seed=21, keep_audit=True)
    return [entry.to_dict() for entry in run.audit]


def close(value: float | None, truth: float, rel: float) -> bool:
    return value is not None and abs(value - truth) <= rel * truth


def test_recovers_phase_durations(audit: list[dict[str, object]]) -> None:
    fitted = calibrate(audit)
    assert fitted.completed == fitted.sessions > 150
    assert fitted.capture and close(fitted.capture.mean, 50.0, 0.06)
    assert close(fitted.capture.cv, 0.5, 0.15)
    assert fitted.review and close(fitted.review.mean, 40.0, 0.06)
    assert fitted.request and close(fitted.request.mean, 15.0, 0.06)
    assert fitted.reaction and close(fitted.reaction.mean, 6.0, 0.12)
    # greeting + identity check + the first request
    assert fitted.before_documents and close(fitted.before_documents.mean, 105.0, 0.08)
    # data entry + claim processing + closing
    assert fitted.after_documents and close(fitted.after_documents.mean, 440.0, 0.08)
    assert fitted.rejections_per_document is not None
    assert abs(reject_probability(fitted.rejections_per_document, 3) - 0.25) < 0.05
    assert abs(fitted.document_share["npwp"] - 0.5) < 0.1
    assert fitted.document_share["ktp"] == 1.0
    assert abs(sum(fitted.arrivals_per_hour) / len(fitted.arrivals_per_hour) - 6.0) < 1.0


def test_applied_scenario_matches_the_truth(audit: list[dict[str, object]]) -> None:
    applied = calibrate(audit).apply(Scenario(capacity=1))
    attention, free = applied.visit.expected_split()
    true_attention, true_free = KNOWN.visit.expected_split()
    assert close(attention, true_attention, 0.08)
    assert close(free, true_free, 0.08)
    assert abs(applied.visit.attention_share() - KNOWN.visit.attention_share()) < 0.03
    assert applied.arrivals.mode == "poisson"
    replayed = calibrate(audit).apply(Scenario(), replay_day=True)
    assert replayed.arrivals.mode == "bookings"
    assert len(replayed.arrivals.bookings) == calibrate(audit).sessions


def test_reads_json_lines_and_entries(tmp_path: Path, audit: list[dict[str, object]]) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in reversed(audit)) + "\n")
    from_file = calibrate(path)
    from_list = calibrate(audit)
    assert from_file.to_dict() == from_list.to_dict()
    assert load_audit(path)[0]["at"] <= load_audit(path)[-1]["at"]
    with pytest.raises(ValueError):
        load_audit([{"event": "ready"}])


def test_reject_probability_inverts() -> None:
    for p in (0.0, 0.1, 0.3, 0.6):
        per_document = p + p**2  # extra attempts with max_attempts = 3
        assert abs(reject_probability(per_document, 3) - p) < 1e-6
