"""`lapak-asik simulate` end to end: table, JSON, PNG, planning, calibration, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from booth_server.simulate.cli import main
from booth_server.simulate.engine import simulate
from booth_server.simulate.params import Arrivals, Scenario


def test_sweep_writes_table_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    out, png, trace = tmp_path / "s.json", tmp_path / "s.png", tmp_path / "t.jsonl"
    code = main(["--sweep", "--hours", "2", "--replications", "1", "--seed", "4",
                 "--share-sweep", "0.2", "--json", str(out), "--plot", str(png),
                 "--trace", str(trace), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "One to Many" in text and "capacity gain over N=1" in text
    data = json.loads(out.read_text())
    assert [row["capacity"] for row in data["sweep"]] == [1, 2, 3, 4, 5, 6]
    for row in data["sweep"]:
        for key in ("visits_per_officer_hour", "wait_median_s", "wait_p95_s",
                    "idle_in_visit_mean_s", "utilisation", "one_to_many"):
            assert key in row["day"] and key in row["saturated"]
    assert data["gain_over_n1"]["1"] == 1.0
    assert data["attention_share_sweep"][0]["attention_share"] == 0.2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert trace.read_text().count("\n") > 10


def test_plan_from_bookings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bookings = tmp_path / "b.csv"
    rows = ["time,ticket"] + [f"{8 + i // 6:02d}:{(i % 6) * 10:02d},A{i:03d}" for i in range(18)]
    bookings.write_text("\n".join(rows) + "\n")
    out = tmp_path / "plan.json"
    code = main(["--plan", "--target-p95-wait", "900", "--bookings", str(bookings),
                 "--capacity", "3", "--replications", "2", "--json", str(out), "--quiet"])
    assert code == 0
    assert "Fewest officers and booths" in capsys.readouterr().out
    plan = json.loads(out.read_text())["plan"][0]
    assert plan["chosen"]["meets_target"] is True
    assert plan["one_officer_fewer"] is None or plan["one_officer_fewer"]["meets_target"] is False


def test_calibrate_then_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = simulate(Scenario(capacity=1, hours=3, arrivals=Arrivals(per_hour=(5.0,))), seed=2,
                   keep_audit=True)
    audit = tmp_path / "audit.jsonl"
    audit.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in run.audit))
    out = tmp_path / "c.json"
    code = main(["--calibrate", str(audit), "--replay-day", "--capacity", "2",
                 "--replications", "1", "--no-capacity", "--json", str(out), "--quiet"])
    assert code == 0
    assert "Fitted from the audit log" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["calibration"]["completed"] == len(run.core_visits)
    assert data["scenario"]["arrivals"]["mode"] == "bookings"


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--capacity", "7"])
    with pytest.raises(SystemExit):
        main(["--plan"])
    bad = tmp_path / "scenario.json"
    bad.write_text('{"officers": 0}')
    assert main(["--scenario", str(bad), "--quiet"]) == 2
    assert "officers" in capsys.readouterr().err
