from __future__ import annotations

import cv2
import numpy as np

from booth_client.documents.guidance import (
    LOW_RESOLUTION_READY,
    PROMPTS,
    CaptureGuide,
    GuidanceConfig,
    GuidanceState,
    draw_guidance,
    reachable_px_per_mm,
)
from booth_client.documents.synthetic import paste_document
from booth_client.documents.templates import render_document

GOOD = np.array([[300, 140], [980, 150], [975, 580], [305, 570]], np.float32)


def _frame(corners: np.ndarray = GOOD, gain: float = 1.0) -> np.ndarray:
    frame = np.full((720, 1280, 3), (60, 80, 100), np.uint8)
    out = paste_document(frame, render_document("ktp", 7), corners.astype(np.float64))
    return np.asarray(np.clip(out.astype(np.float32) * gain, 0, 255), np.uint8)


def test_every_state_has_indonesian_and_english_text() -> None:
    assert set(PROMPTS) == set(GuidanceState)
    assert PROMPTS[GuidanceState.TOO_FAR].indonesian == "Dekatkan dokumen ke kamera"
    assert all(p.indonesian and p.english for p in PROMPTS.values())


def test_steady_good_document_is_captured_after_a_short_run() -> None:
    guide = CaptureGuide("ktp")
    frame = _frame()
    states = [guide.update(frame, GOOD, now=i / 15).state for i in range(7)]
    # First sighting counts as movement; then 5 steady frames capture.
    assert states[0] is GuidanceState.HOLD_STILL
    assert states[1:5] == [GuidanceState.READY] * 4
    assert states[5] is GuidanceState.CAPTURED
    assert states[6] is GuidanceState.CAPTURED
    assert guide.captured is not None and guide.captured_at == 5 / 15
    assert guide.captured.image.shape[1] >= 1028


def test_motion_resets_the_steady_run() -> None:
    guide = CaptureGuide("ktp")
    frame = _frame()
    for i in range(4):
        guide.update(frame, GOOD, now=i)
    moved = GOOD + 25
    assert guide.update(_frame(moved), moved, now=4).state is GuidanceState.HOLD_STILL
    assert guide.update(_frame(moved), moved, now=5).steady_frames == 1


def test_geometry_prompts() -> None:
    guide = CaptureGuide("ktp")
    frame = _frame()
    assert guide.update(frame, None, 0).state is GuidanceState.NO_DOCUMENT
    far = (GOOD - 640) * 0.25 + 640
    assert guide.update(frame, far, 1).state is GuidanceState.TOO_FAR
    near = np.array([[20, 15], [1260, 15], [1260, 705], [20, 705]], np.float32)
    assert guide.update(frame, near, 2).state is GuidanceState.TOO_CLOSE
    out = GOOD + np.array([500, 0], np.float32)
    assert guide.update(frame, out, 3).state is GuidanceState.OUT_OF_FRAME
    tilted = np.array([[300, 140], [980, 250], [980, 470], [300, 580]], np.float32)
    assert guide.update(frame, tilted, 4).state is GuidanceState.TILT


def test_a_low_resolution_camera_says_so_and_captures_at_what_it_can_give() -> None:
    # 320x240: a card filling the frame gets ~3.7 camera px/mm, short of the gate's 4; 640x480
    # reaches it.
    assert reachable_px_per_mm("ktp", 320, 240) < 4.0 <= reachable_px_per_mm("ktp", 640, 480)
    card = np.array([[35, 40], [285, 42], [284, 198], [36, 196]], np.float32)  # ~2.9 px/mm
    frame = paste_document(np.full((240, 320, 3), (60, 80, 100), np.uint8),
                           render_document("ktp", 7), card.astype(np.float64))
    guide = CaptureGuide("ktp")
    assert guide.low_resolution_camera(frame)
    updates = [guide.update(frame, card, now=i / 9) for i in range(7)]
    assert updates[1].state is GuidanceState.READY
    assert updates[1].prompt == LOW_RESOLUTION_READY
    assert LOW_RESOLUTION_READY.indonesian.startswith("Resolusi kamera rendah")
    assert updates[5].state is GuidanceState.CAPTURED
    assert updates[5].report is not None and "low_resolution" in updates[5].report.reasons
    # Held far: the participant is told the camera is the limit, and to come as close as they
    # can (not the plain "closer" of a camera that could do better).
    far = (card - 160) * 0.5 + 160
    guide = CaptureGuide("ktp")
    guide.update(frame, far, 0)  # first sight counts as movement
    state = guide.update(frame, far, 1).state
    assert state is GuidanceState.LOW_RESOLUTION
    assert PROMPTS[state].indonesian == "Resolusi kamera rendah, dekatkan dokumen sedekat mungkin"


def test_quality_prompts_dark_and_glare() -> None:
    guide = CaptureGuide("ktp")
    dark = _frame(gain=0.15)
    guide.update(dark, GOOD, 0)
    assert guide.update(dark, GOOD, 1).state is GuidanceState.TOO_DARK
    glare = _frame()
    cv2.ellipse(glare, (640, 360), (120, 80), 0, 0, 360, (255, 255, 255), -1)
    guide.update(glare, GOOD, 2)
    assert guide.update(glare, GOOD, 3).state is GuidanceState.GLARE
    blurred = np.asarray(cv2.GaussianBlur(_frame(), (0, 0), 3.0), np.uint8)
    assert guide.update(blurred, GOOD, 4).state is GuidanceState.HOLD_STILL


def test_manual_capture_works_without_detection_and_reset_starts_over() -> None:
    guide = CaptureGuide("paklaring", GuidanceConfig(frames_to_capture=3))
    frame = _frame()
    update = guide.capture_now(frame, None, now=12.5)
    assert update.state is GuidanceState.CAPTURED and update.capture is not None
    assert guide.captured_manually and guide.captured_at == 12.5
    guide.reset()
    assert guide.captured is None
    assert guide.update(frame, None, 13).state is GuidanceState.NO_DOCUMENT


def test_draw_guidance_marks_outline_and_prompt() -> None:
    guide = CaptureGuide("ktp")
    frame = _frame()
    update = guide.update(frame, GOOD, 0)
    drawn = draw_guidance(frame, update)
    assert drawn.shape == frame.shape and drawn is not frame
    diff = np.abs(drawn.astype(int) - frame.astype(int)).sum(axis=2) > 0
    assert diff[700:, :].mean() > 0.5  # prompt band at the bottom
    x, y = GOOD[0].astype(int)
    assert diff[y - 2:y + 3, x - 2:x + 3].any()  # outline at the corner
