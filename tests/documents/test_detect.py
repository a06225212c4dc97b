from __future__ import annotations

import re
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from booth_client.documents import detect_document
from booth_client.documents.backdrops import PHOTOGRAPHS, real_photographs
from booth_client.documents.baseline import detect_document_baseline
from booth_client.documents.detect import find_document
from booth_client.documents.geometry import Quad, quad_iou_in_frame, signed_area
from booth_client.documents.synthetic import Scene, make_scene, paste_document
from booth_client.documents.templates import render_document

POSITIVE_SEEDS = range(1000, 1024)
NEGATIVE_SEEDS = range(2000, 2012)


def scored(detect: Callable[[npt.NDArray[np.uint8]], Quad | None], scene: Scene) -> float:
    """IoU (in frame) of what `detect` finds in `scene` with its document; 0 for a miss."""
    assert scene.quad is not None
    height, width = scene.image.shape[:2]
    quad = detect(scene.image)
    return 0.0 if quad is None else quad_iou_in_frame(quad, scene.quad, width, height)


def test_contract_path_exports_detect_document() -> None:
    import booth_client.documents as documents

    assert documents.detect_document is detect_document


def test_clean_card_on_plain_desk_is_found_precisely() -> None:
    frame = np.full((720, 1280, 3), (70, 90, 110), np.uint8)
    card = render_document("ktp", 3)
    corners = np.array([[400, 200], [860, 230], [840, 520], [380, 480]], np.float64)
    image = paste_document(frame, card, corners)
    quad = detect_document(image)
    assert quad is not None
    assert quad.shape == (4, 2) and quad.dtype == np.float32
    assert np.abs(quad - corners.astype(np.float32)).max() < 3.0
    assert signed_area(quad) > 0  # clockwise on screen, top-left first


def test_synthetic_positives_mean_iou_and_baseline_comparison() -> None:
    ious, base = [], []
    for seed in POSITIVE_SEEDS:
        scene = make_scene(seed)
        assert scene.quad is not None
        ious.append(scored(detect_document, scene))
        base.append(scored(detect_document_baseline, scene))
    # Thresholds sit below what the evaluation measures on these seeds (0.97 mean IoU, 92 %
    # at IoU >= 0.9), to catch regressions.
    assert np.mean(ious) >= 0.85
    assert np.mean(np.array(ious) >= 0.9) >= 0.75
    assert np.mean(ious) > np.mean(base) + 0.5


def test_portrait_frames_regression_floor() -> None:
    # Phone photos are often portrait (720x1280 here): more of the person and the room is in
    # view around a smaller card. On these 30 scenes the detector measures 0.91 mean IoU and
    # 93 % at IoU >= 0.9 (0.90 and 83 % when searched at 320 px like a landscape frame).
    ious = []
    for seed in range(1000, 1030):
        scene = make_scene(seed, 720, 1280)
        assert scene.quad is not None
        ious.append(scored(detect_document, scene))
    assert np.mean(ious) >= 0.8
    assert np.mean(np.array(ious) >= 0.9) >= 0.72


def test_busy_desks_regression_floor() -> None:
    # Desk scenes with larger things beside or under the document (phone, notebook, book,
    # printed sheet, laptop): harder, and a known weakness. On these 23 scenes the detector
    # measures 0.67 mean IoU and 57 % at IoU >= 0.9 (the baseline 0.13); it measured 0.79 and
    # 74 % while the generator drew a dark rim around every document, which real cards do not
    # have (a light card on a light sheet has next to no edge). The floor catches regressions.
    ious, base = [], []
    for seed in range(1000, 1060):
        scene = make_scene(seed, busy=True)
        if "busy_desk" not in scene.tags:
            continue
        assert scene.quad is not None
        ious.append(scored(detect_document, scene))
        base.append(scored(detect_document_baseline, scene))
    assert len(ious) == 23
    assert np.mean(ious) >= 0.6
    assert np.mean(np.array(ious) >= 0.9) >= 0.5
    assert np.mean(ious) > np.mean(base) + 0.5


def test_photo_backdrops_regression_floor() -> None:
    # The same scenes in front of real photographs (scikit-image's: people, a cat, a coffee
    # cup, coins, grass, gravel, bricks, a rocket, chalk writing) instead of drawn rooms and
    # desks: real textures crowd the line search and raise the edge thresholds. On these 30
    # scenes the detector measures 0.92 mean IoU and 93 % at IoU >= 0.9 (the baseline 0.02).
    photos = real_photographs()
    ious, base = [], []
    for seed in range(1000, 1030):
        scene = make_scene(seed, backdrops=photos)
        ious.append(scored(detect_document, scene))
        base.append(scored(detect_document_baseline, scene))
    assert np.mean(ious) >= 0.8
    assert np.mean(np.array(ious) >= 0.9) >= 0.75
    assert np.mean(ious) > np.mean(base) + 0.5


@pytest.mark.parametrize("name", PHOTOGRAPHS)
def test_real_photographs_hold_no_document(name: str) -> None:
    # Real photographs with no document in them, as they are and scaled to a camera frame.
    photo = real_photographs()[PHOTOGRAPHS.index(name)]
    assert detect_document(photo) is None
    frame = np.asarray(cv2.resize(photo, (1280, 720), interpolation=cv2.INTER_CUBIC), np.uint8)
    assert detect_document(frame) is None


def test_photo_backdrop_negatives_floor() -> None:
    # Real photographs with drawn clutter and fingers on them, and the camera's finish: a known
    # weakness (a brick wall is a grid of document-like cells). 2 of these 20 measure as false
    # detections (4 before quads that do not stand out from their surroundings were refused).
    photos = real_photographs()
    false = sum(detect_document(make_scene(s, negative=True, backdrops=photos).image) is not None
                for s in range(2000, 2020))
    assert false <= 3


def test_negatives_are_mostly_none() -> None:
    false = sum(detect_document(make_scene(s, negative=True).image) is not None
                for s in NEGATIVE_SEEDS)
    assert false <= 1


@pytest.mark.parametrize("shape", [(720, 1280), (480, 640), (1080, 1920)])
def test_blank_frames_have_no_document(shape: tuple[int, int]) -> None:
    assert detect_document(np.full((*shape, 3), 128, np.uint8)) is None
    noise = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert detect_document(noise) is None


def test_grey_and_bgra_input_are_accepted() -> None:
    frame = np.full((720, 1280, 3), 40, np.uint8)
    corners = np.array([[300, 150], [900, 150], [900, 530], [300, 530]], np.float64)
    image = paste_document(frame, render_document("kpj", 1), corners)
    for variant in (cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.cvtColor(image,
                                                                           cv2.COLOR_BGR2BGRA)):
        quad = detect_document(np.asarray(variant, np.uint8))
        assert quad is not None
        assert quad_iou_in_frame(quad, corners, 1280, 720) > 0.95


@pytest.mark.parametrize(("frame", "says"), [
    (np.zeros((720, 1280, 3), np.float64), "not float64 720x1280x3"),
    (np.zeros((720, 1280, 3), np.uint16), "not uint16 720x1280x3"),
    (np.zeros((720, 1280, 2), np.uint8), "not 720x1280x2"),
    (np.zeros((4, 720, 1280, 3), np.uint8), "not 4x720x1280x3"),
    (np.zeros(5, np.uint8), "not 5"),
    (np.zeros((0, 0, 3), np.uint8), "empty (0x0x3)"),
    ([[0, 0], [0, 0]], "not list"),
])
def test_a_frame_that_is_not_an_8_bit_image_is_refused_clearly(frame: object,
                                                                says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        detect_document(frame)  # type: ignore[arg-type]


def test_a_one_channel_frame_and_a_tiny_frame_are_taken() -> None:
    frame = np.full((720, 1280, 3), 40, np.uint8)
    corners = np.array([[300, 150], [900, 150], [900, 530], [300, 530]], np.float64)
    grey = cv2.cvtColor(paste_document(frame, render_document("kpj", 1), corners),
                        cv2.COLOR_BGR2GRAY)
    quad = detect_document(np.asarray(grey, np.uint8)[:, :, None])
    assert quad is not None and quad_iou_in_frame(quad, corners, 1280, 720) > 0.95
    for size in ((1, 1, 3), (2, 3), (7, 5, 4)):
        assert detect_document(np.zeros(size, np.uint8)) is None


def test_find_document_reports_evidence() -> None:
    scene = make_scene(1003)
    found = find_document(scene.image)
    if found is not None:
        assert 0.0 <= found.score <= 1.0
        assert len(found.side_support) == 4
