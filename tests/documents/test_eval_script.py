"""scripts/eval_documents.py on a handful of scenes: it runs both detectors side by side, and
its options reject what they cannot take."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import eval_documents  # noqa: E402


def test_a_small_run_through_a_lens_compares_with_the_baseline(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_documents.main(["--positives", "3", "--negatives", "1", "--lens", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "lens 0.05" in out
    assert "detect_document" in out and "baseline" in out


@pytest.mark.parametrize("lens", ["-0.1", "0.6", "strong"])
def test_a_lens_out_of_range_or_not_a_number_is_refused(
        lens: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        eval_documents.main(["--positives", "1", "--negatives", "0", "--lens", lens])
    assert exited.value.code == 2
    assert "--lens" in capsys.readouterr().err


def test_by_tag_shows_the_cards_the_capture_guide_would_take(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Cards wholly in view and large enough for the guide (a tenth of the frame) are a
    population of their own in the by-tag table, within the cards in frame."""
    assert eval_documents.main(["--positives", "12", "--negatives", "0", "--by-tag"]) == 0
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("│") and line.count("│") >= 4}
    assert "card_capturable" in rows and "card_in_frame" in rows
    assert 0 < int(rows["card_capturable"]) <= int(rows["card_in_frame"])
