"""Scenario parameters: distributions, attention-share rescaling, bookings files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from booth_server.simulate.params import Duration, Scenario, VisitModel, load_bookings
from booth_server.simulate.phases import plan_visit


@pytest.mark.parametrize("dist", ["fixed", "exponential", "lognormal", "gamma", "uniform"])
def test_duration_means(dist: str) -> None:
    d = Duration.model_validate({"dist": dist, "mean": 60.0, "cv": 0.5})
    rng = np.random.default_rng(0)
    samples = [d.sample(rng) for _ in range(20000)]
    assert abs(np.mean(samples) - 60.0) < 1.5
    assert min(samples) >= 0.0


def test_uniform_cannot_go_negative() -> None:
    with pytest.raises(ValidationError):
        Duration(dist="uniform", mean=10.0, cv=0.9)


def test_attention_share_rescaling_keeps_the_visit_length() -> None:
    visit = VisitModel()
    total = sum(visit.expected_split())
    for share in (0.1, 0.2, 0.5):
        varied = visit.with_attention_share(share)
        assert abs(varied.attention_share() - share) < 1e-9
        assert abs(sum(varied.expected_split()) - total) < 1e-6


def test_default_plan_ends_with_complete_by_the_officer() -> None:
    rng = np.random.default_rng(3)
    for n in range(50):
        plan = plan_visit(VisitModel(), f"S{n}", rng)
        assert plan.steps[-1].action == "complete" and plan.steps[-1].attention
        kinds = [s.document_kind for s in plan.steps if s.action == "request"]
        assert kinds[:5] == ["ktp", "kpj", "kk", "paklaring", "bank_book"]


def test_bookings_csv_and_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "b.csv"
    csv_file.write_text("time,ticket,priority\n08:30,A1,0\n09:00,A2,2\n600,A3,\n")
    arrivals = load_bookings(csv_file)
    assert [b.at for b in arrivals.bookings] == [600.0, 1800.0, 3600.0]
    assert arrivals.bookings[2].priority == 2
    json_file = tmp_path / "b.json"
    json_file.write_text(json.dumps({"open_at": "07:30", "no_show_probability": 0.1,
                                     "bookings": [{"time": "08:00"}, {"at": 10}]}))
    arrivals = load_bookings(json_file)
    assert [b.at for b in arrivals.bookings] == [10.0, 1800.0]
    assert arrivals.no_show_probability == 0.1
    rates = tmp_path / "r.json"
    rates.write_text(json.dumps({"per_hour": [10, 20]}))
    assert load_bookings(rates).per_hour == (10.0, 20.0)


def test_booths_follow_capacity_unless_fixed() -> None:
    assert Scenario(officers=3, capacity=4).booth_count() == 12
    assert Scenario(officers=3, capacity=4, booths=7).booth_count() == 7
