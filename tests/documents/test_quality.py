from __future__ import annotations

import cv2
import numpy as np

from booth_client.documents.kinds import DocumentKind
from booth_client.documents.quality import assess, glare_share, sharpness
from booth_client.documents.rectify import rectify
from booth_client.documents.synthetic import paste_document
from booth_client.documents.templates import render_document

CORNERS = np.array([[240, 110], [1040, 130], [1030, 620], [250, 600]], np.float32)


def _frame(kind: DocumentKind = "ktp", seed: int = 0) -> np.ndarray:
    frame = np.full((720, 1280, 3), (60, 80, 100), np.uint8)
    return paste_document(frame, render_document(kind, seed), CORNERS.astype(np.float64))


def test_sharp_still_passes_every_gate() -> None:
    report = assess(rectify(_frame(), CORNERS, "ktp"))
    assert report.passed, report.reasons
    assert report.source_px_per_mm > 9


def test_blurred_still_fails_sharpness_for_every_kind() -> None:
    kinds: tuple[DocumentKind, ...] = ("ktp", "kpj", "npwp", "paklaring", "kk", "bank_book")
    for kind in kinds:
        frame = _frame(kind)
        sharp = sharpness(rectify(frame, CORNERS, kind).image)
        blurred = rectify(np.asarray(cv2.GaussianBlur(frame, (0, 0), 2.5), np.uint8), CORNERS,
                          kind)
        assert sharpness(blurred.image) < sharp / 2
        assert "blurred" in assess(blurred).reasons


def test_glare_blob_is_flagged_but_white_paper_is_not() -> None:
    frame = _frame()
    clean = rectify(frame, CORNERS, "ktp")
    cv2.ellipse(frame, (640, 360), (110, 70), 20, 0, 360, (255, 255, 255), -1)
    glared = rectify(frame, CORNERS, "ktp")
    assert glare_share(clean.image) < 0.005
    assert glare_share(glared.image) > 0.02
    assert "glare" in assess(glared).reasons
    letter = rectify(_frame("paklaring"), CORNERS, "kk")
    assert "glare" not in assess(letter).reasons


def test_dark_still_is_too_dark() -> None:
    dark = (_frame().astype(np.float32) * 0.15).astype(np.uint8)
    report = assess(rectify(dark, CORNERS, "ktp"))
    assert "too_dark" in report.reasons
    assert report.mean_brightness < 60


def test_far_document_fails_resolution() -> None:
    small = CORNERS * 0.3 + 100
    frame = paste_document(np.full((720, 1280, 3), 90, np.uint8), render_document("ktp", 0),
                           small.astype(np.float64))
    report = assess(rectify(frame, small.astype(np.float32), "ktp"))
    assert "low_resolution" in report.reasons
    figures = report.as_dict()
    assert figures["passed"] is False and "low_resolution" in figures["reasons"]  # type: ignore[operator]
