"""The detector's parts that keep it on the card outline: perspective-corrected aspect, the
outward search past printed bands, line candidates past fingers, tolerance of a bent card."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents import detect_document
from booth_client.documents.detect import find_document
from booth_client.documents.detect.shape import _true_aspects
from booth_client.documents.geometry import quad_iou_in_frame
from booth_client.documents.synthetic import _card_finish, make_scene, paste_document
from booth_client.documents.templates import RenderedDocument, render_document

W, H = 1280, 720


def _project(tilt_x: float, tilt_y: float, roll: float, focal: float, size: float = 500.0,
             aspect: float = 85.6 / 54.0) -> npt.NDArray[np.float64]:
    """Image corners (TL, TR, BR, BL) of a w x h rectangle seen by a pinhole camera."""
    rx, ry, rz = np.radians([tilt_x, tilt_y, roll])
    mx = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
    my = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    mz = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
    w, h = size, size / aspect
    local = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0],
                      [-w / 2, h / 2, 0]])
    cam = local @ (mz @ my @ mx).T + np.array([0.0, 0.0, 1.6 * focal * size / W])
    pts = focal * cam[:, :2] / cam[:, 2:3]
    return np.asarray(pts + np.array([W / 2, H / 2]), np.float64)


@pytest.mark.parametrize(("tilt_x", "tilt_y", "roll"),
                         [(0, 0, 0), (25, 0, 10), (0, -30, -20), (20, 20, 80), (-30, 15, 0)])
def test_true_aspect_undoes_perspective(tilt_x: float, tilt_y: float, roll: float) -> None:
    quad = _project(tilt_x, tilt_y, roll, focal=float(W))
    aspect = float(_true_aspects(quad[None], W, H)[0])
    assert aspect == pytest.approx(85.6 / 54.0, rel=0.04)
    # The plain ratio of side lengths is far off under the same tilt.
    if abs(tilt_x) + abs(tilt_y) >= 40:
        sides = np.hypot(*(np.roll(quad, -1, axis=0) - quad).T)
        naive = (sides[0] + sides[2]) / (sides[1] + sides[3])
        naive = max(naive, 1 / naive)
        assert abs(naive - 85.6 / 54.0) > abs(aspect - 85.6 / 54.0)


def test_true_aspect_in_a_portrait_frame() -> None:
    # A phone held upright: the focal length goes with the frame's long side, now its height.
    quad = _project(25, -20, 5, focal=0.9 * W) + np.array([H / 2 - W / 2, W / 2 - H / 2])
    assert float(_true_aspects(quad[None], H, W)[0]) == pytest.approx(85.6 / 54.0, rel=0.04)


def test_true_aspect_tolerates_a_wrong_focal_length() -> None:
    quad = _project(20, -15, 5, focal=0.75 * W)
    assert float(_true_aspects(quad[None], W, H)[0]) == pytest.approx(85.6 / 54.0, rel=0.08)


def _banded_card(band: tuple[int, int, int], body: tuple[int, int, int]) -> RenderedDocument:
    card = render_document("kpj", 5)
    img = np.empty_like(card.image)
    h = img.shape[0]
    img[:] = body
    img[: int(0.3 * h)] = band
    cv2.putText(img, "KARTU PESERTA", (60, int(0.6 * h)), cv2.FONT_HERSHEY_SIMPLEX, 1.5,
                (30, 30, 30), 3)
    return RenderedDocument(img, card.mask, card.kind, card.size)


def test_band_close_to_the_background_colour_does_not_cut_the_card() -> None:
    # A green header on a green shirt: the header/white boundary is far stronger than the
    # card's own top edge, yet the whole card is wanted.
    green = (60, 150, 40)
    frame = np.full((H, W, 3), (75, 165, 55), np.uint8)
    corners = _project(10, -12, 8, focal=float(W), size=620.0)
    image = paste_document(frame, _banded_card(green, (245, 245, 240)), corners)
    image = np.asarray(cv2.GaussianBlur(image, (0, 0), 1.0), np.uint8)
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners, W, H) > 0.9


@pytest.mark.parametrize("seed", [1044, 1048])
def test_outline_search_recovers_the_card_behind_its_header(seed: int) -> None:
    # Synthetic NPWP cards whose dark header merges with the background: the first quad found
    # is the pale body; pushing the top side out onto the parallel outline gets the card.
    scene = make_scene(seed)
    assert scene.quad is not None and scene.kind == "npwp"
    quad = detect_document(scene.image)
    assert quad is not None
    assert quad_iou_in_frame(quad, scene.quad, W, H) > 0.93


def _finger(image: npt.NDArray[np.uint8], centre: tuple[int, int], axes: tuple[int, int],
            angle: float) -> None:
    cv2.ellipse(image, centre, axes, angle, 0, 360, (90, 120, 170), -1, cv2.LINE_AA)
    cv2.ellipse(image, centre, (axes[0] - 8, axes[1] - 8), angle, 0, 360, (110, 140, 190), -1,
                cv2.LINE_AA)


def test_fingers_over_two_sides_keep_the_card_outline() -> None:
    frame = np.full((H, W, 3), (120, 100, 90), np.uint8)
    corners = np.array([[360, 180], [900, 200], [890, 540], [350, 520]], np.float64)
    image = paste_document(frame, render_document("ktp", 2), corners)
    _finger(image, (350, 330), (90, 30), 10)   # thumb over the left side
    _finger(image, (895, 420), (90, 32), -5)   # fingers over the right side
    _finger(image, (620, 540), (30, 80), 80)   # and over the bottom
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners, W, H) > 0.93


def test_slightly_bent_card_is_still_found() -> None:
    frame = np.full((H, W, 3), (60, 70, 80), np.uint8)
    corners = np.array([[300, 160], [980, 160], [980, 590], [300, 590]], np.float64)
    image = paste_document(frame, render_document("ktp", 4), corners)
    # Bow the card by 4 px in the middle of its long sides (a card pressed by a thumb).
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    bow = 4.0 * (1 - ((xx - 640) / 340) ** 2)
    image = np.asarray(cv2.remap(image, xx, yy - np.clip(bow, 0, None), cv2.INTER_LINEAR),
                       np.uint8)
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners, W, H) > 0.95


def test_pale_margin_belongs_to_the_card() -> None:
    # A card printed with a pale margin around its coloured field, on a dark desk: the outline
    # is the card's edge, not the edge of the print.
    rng = np.random.default_rng(3)
    card = render_document("ktp", rng)
    while True:
        finished = _card_finish(card, rng)
        if int(finished.image[0, finished.image.shape[1] // 2].min()) >= 225:
            break
    frame = np.full((H, W, 3), (40, 45, 50), np.uint8)
    corners = _project(8, 10, -6, focal=float(W), size=640.0)
    image = paste_document(frame, finished, corners)
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners, W, H) > 0.95


def test_score_is_the_tight_support_of_the_returned_quad() -> None:
    frame = np.full((H, W, 3), (70, 90, 110), np.uint8)
    corners = np.array([[400, 200], [860, 230], [840, 520], [380, 480]], np.float64)
    found = find_document(paste_document(frame, render_document("npwp", 3), corners))
    assert found is not None
    assert found.score >= 0.9
    assert all(s >= 0.8 for s in found.side_support)


# Scenes (seed 0 of the evaluation) where the detector used to lock onto the field below a
# coloured band (bank books on a desk, KPJ cards held up), or onto the card with its shadow.
@pytest.mark.parametrize(("seed", "kind"), [
    (7, "bank_book"), (268, "bank_book"), (134, "bank_book"),
    (295, "kpj"), (202, "kpj"), (81, "kpj"), (162, "kpj"),
])
def test_banded_cards_and_bank_books_are_found_whole(seed: int, kind: str) -> None:
    scene = make_scene(seed)
    assert scene.quad is not None and scene.kind == kind
    quad = detect_document(scene.image)
    assert quad is not None
    assert quad_iou_in_frame(quad, scene.quad, W, H) >= 0.9


@pytest.mark.parametrize("kind", ["kpj", "bank_book"])
def test_band_line_is_not_taken_for_the_outline(kind: str) -> None:
    # A clean card on a dark desk: the band boundary is a strong straight line across the
    # card, crossed by the card's sides; the outline must win.
    frame = np.full((H, W, 3), (50, 55, 60), np.uint8)
    corners = _project(12, -8, 5, focal=float(W), size=560.0,
                       aspect=85.6 / 54.0 if kind == "kpj" else 125.0 / 88.0)
    image = paste_document(frame, render_document(kind, 7), corners)
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners, W, H) >= 0.95


def test_line_under_a_band_is_marked_as_crossed() -> None:
    from booth_client.documents.detect.quads import crossed

    # Side 0 of quad 0: both neighbours run on past its corners; quad 1: only one does.
    beyond = np.zeros((2, 4, 2))
    beyond[0, 3, 1] = beyond[0, 1, 0] = 1.0
    beyond[1, 3, 1] = 1.0
    share = crossed(beyond)
    assert share[0, 0] == 1.0
    assert share[1, 0] == 0.0


def scene_iou(seed: int, *, tag: str | None = None, width: int = W, height: int = H,
              photos: bool = False, busy: bool = False) -> float:
    """IoU of what is detected in the generated scene `seed` (with `tag`, if given; in front of
    the real photographs with `photos`; a busy desk with `busy`) with its document; 0 where
    nothing is."""
    from booth_client.documents.backdrops import real_photographs

    scene = make_scene(seed, width, height, busy=busy,
                       backdrops=real_photographs() if photos else ())
    assert scene.quad is not None and (tag is None or tag in scene.tags)
    quad = detect_document(scene.image)
    return 0.0 if quad is None else quad_iou_in_frame(quad, scene.quad, width, height)


def assert_found(seed: int, min_iou: float, *, tag: str | None = None, width: int = W,
                 height: int = H, photos: bool = False, busy: bool = False) -> None:
    """The generated scene `seed` (see `scene_iou`) is detected with IoU >= min_iou."""
    assert scene_iou(seed, tag=tag, width=width, height=height, photos=photos,
                     busy=busy) >= min_iou


def assert_decided_by(constant: str, off: float, seed: int, min_iou: float,
                      max_iou: float = 0.3, *, width: int = W, height: int = H,
                      photos: bool = False, busy: bool = False) -> None:
    """The generated scene `seed` (see `scene_iou`) is detected with IoU >= min_iou, and with
    IoU below max_iou once `detect.<constant>` (or `detect.<module>.<constant>`, given as
    "module.constant") is `off` (the rule it belongs to never acts)."""
    import importlib

    module, _, name = constant.rpartition(".")
    owner = importlib.import_module("booth_client.documents.detect" + (f".{module}" if module
                                                                       else ""))
    scene = {"width": width, "height": height, "photos": photos, "busy": busy}
    assert scene_iou(seed, **scene) >= min_iou
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(owner, name, off)
        assert scene_iou(seed, **scene) < max_iou


# Seed-0 desk scenes where the quad took in the document's shadow on the desk (IoU 0.86-0.87
# before; 131 0.88, where the shadow edge runs on along the card side): the strip between card
# and shadow edge is the desk darkened, so the card wins.
@pytest.mark.parametrize("seed", [84, 131, 217, 232])
def test_desk_card_is_found_without_its_shadow(seed: int) -> None:
    assert_found(seed, 0.97, tag="desk")


def test_the_compiled_shared_sides_are_their_definition() -> None:
    from booth_client.documents.detect.shadows import _shared_sides
    from booth_client.documents.detect.shape import NEXT, side_normals

    def by_definition(outer: npt.NDArray[np.float64], inner: npt.NDArray[np.float64]) -> int:
        n = side_normals(inner)[1]
        ends = np.stack([outer, outer[NEXT]])
        dist = np.abs(ends[..., 0, None] * n[:, 0] + ends[..., 1, None] * n[:, 1]
                      - (n * inner).sum(axis=1))
        return int((dist.max(axis=0) < 1.5).any(axis=1).sum())

    # A card, the card with its shadow on two or three sides (some a pixel off), and quads
    # elsewhere.
    rng = np.random.default_rng(6)
    card = np.array([[40.0, 30.0], [140.0, 34.0], [137.0, 96.0], [38.0, 92.0]])
    counts = set()
    for _ in range(300):
        outer = card.copy()
        for k in rng.choice(4, int(rng.integers(0, 4)), replace=False):
            outer[[k, (k + 1) % 4]] += rng.normal(0.0, 4.0, 2)
        outer += rng.normal(0.0, 0.4, (4, 2)) * rng.integers(0, 2)
        got = _shared_sides(outer, card)
        assert got == by_definition(outer, card)
        counts.add(got)
    assert counts >= {2, 3, 4}


def test_the_compiled_shadow_colour_test_is_its_definition() -> None:
    from booth_client.documents.detect.shadows import (
        _GREY,
        _SHADOW_CHROMA,
        _SHADOW_DARKER,
        _darkened,
    )

    def by_definition(bgr: npt.NDArray[np.uint8], strip: npt.NDArray[np.uint8],
                      ring: npt.NDArray[np.uint8]) -> bool:
        colour_in = np.array(cv2.mean(bgr, strip)[:3]) + 1.0
        colour_out = np.array(cv2.mean(bgr, ring)[:3]) + 1.0
        grey_in, grey_out = float((colour_in * _GREY).sum()), float((colour_out * _GREY).sum())
        shift = np.abs(colour_in / colour_in.sum() - colour_out / colour_out.sum()).sum()
        return grey_in < _SHADOW_DARKER * grey_out and bool(shift < _SHADOW_CHROMA)

    # A ground and a strip of it darkened by a shadow (or recoloured), in a view of a frame.
    rng = np.random.default_rng(9)
    verdicts = set()
    for _ in range(200):
        frame = np.clip(rng.normal(rng.uniform(40, 200, 3), 12, (70, 90, 3)), 0, 255).astype(
            np.uint8)
        strip = np.zeros((50, 60), np.uint8)
        strip[10:20, 5:55] = 1
        ring = np.zeros_like(strip)
        ring[22:40, :] = 1
        view = frame[7:57, 11:71]
        view[10:20, 5:55] = np.clip(view[10:20, 5:55] * rng.uniform(0.6, 1.1, 3), 0, 255)
        got = _darkened(view, strip, ring, _GREY, _SHADOW_DARKER, _SHADOW_CHROMA)
        assert got == by_definition(view, strip, ring)
        verdicts.add(got)
    assert verdicts == {True, False}


def test_shadow_strip_is_told_from_a_band_of_another_colour() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.shadows import is_shadow

    # A pale card on a grey-green desk; a strip along two of its sides, either the desk
    # darkened (a shadow) or a darker band of another hue.
    desk = (110, 140, 120)
    for strip, shadow in (((66, 84, 72), True), ((120, 40, 50), False)):
        image = np.full((H, W, 3), desk, np.uint8)
        cv2.rectangle(image, (400, 200), (880, 530), strip, -1)
        cv2.rectangle(image, (400, 200), (850, 500), (235, 235, 230), -1)
        work = prepare(image)
        outer = np.array([[100, 50], [220, 50], [220, 132.5], [100, 132.5]], np.float64)
        inner = np.array([[100, 50], [212.5, 50], [212.5, 125], [100, 125]], np.float64)
        assert is_shadow(work, outer, inner) is shadow


# Seed-0 desk scenes on ruled paper whose lines crowded a card side out of the line search
# (IoU 0.00 before: the quad ran from the card's side over ruled lines to the frame border).
@pytest.mark.parametrize("seed", [105, 100063])
def test_ruled_paper_does_not_crowd_out_the_card(seed: int) -> None:
    assert_found(seed, 0.9)


# Negatives (seeds 0 and 1 of the evaluation) where a quad of a door frame, a head or a phone
# with random lines was taken for a document; and where two of its sides were only tangents
# to a round outline (50035: a head between two door-frame lines, 50072: a circle between two
# ruled lines, 50076 and 150065: a head).
# 50035 is taken again since runs that bow stopped being segments: with the head's many
# tangents gone, a quad of the two door-frame edges, the body's flat top and a line past the
# hair comes up, whose one curved side the final check lets pass. A known false detection
# (700 negatives: 37 false detections, 35 before), kept here so that a fix shows.
@pytest.mark.parametrize("seed", [
    50006, 50099, 150072, 50072, 50076, 150065,
    pytest.param(50035, marks=pytest.mark.xfail(strict=True, reason="known false detection")),
])
def test_no_document_is_made_of_a_head_a_door_frame_or_a_phone(seed: int) -> None:
    assert detect_document(make_scene(seed, negative=True).image) is None


# Scenes (seeds 0 and 1 of the evaluation) with a card over a corner of the frame: three of its
# corners outside, two of its sides in view (IoU 0.00 before: a quad may use one frame border;
# 30, 0.23 before: its two sides, 0.88 and 1.00 of support, were judged as three with the
# unseen third at half).
@pytest.mark.parametrize("seed", [276, 100060, 100228, 30])
def test_card_over_a_corner_of_the_frame_is_found(seed: int) -> None:
    assert_found(seed, 0.95, tag="out_of_frame")


def test_at_most_two_border_sides() -> None:
    from booth_client.documents.detect import quads

    on = np.array([[False, False, False, False], [True, False, False, False],
                   [True, True, False, False], [False, False, True, True],
                   [True, False, False, True], [True, False, True, False],
                   [False, True, False, True], [True, True, True, False]])
    # Side k of each quad on line k, or on the frame's border line 4 + k; every side fully
    # supported (as if seen), every corner at the frame's centre.
    around = np.where(on, np.arange(4) + 4, np.arange(4)).astype(np.int64)
    least = np.array([quads._MIN_SIDE_SUPPORT, quads._MIN_SCORE, quads._CORNER_SIDE])
    passed = quads._tested(np.ones(on.shape), around, np.arange(8) >= 4, np.ones((8, 8), bool),
                           np.full((8, 8, 2), 50.0), 50.0, 50.0, 150.0, least)
    assert passed.tolist() == [True, True, True, True, True, True, True, False]
    assert quads.crossing(on).tolist() == [False, False, False, False, False, True, True, True]


# Scenes (seeds 0 and 1 of the evaluation) with a card held so close that it crosses the
# frame's top and bottom, two of its sides in view: the ID photo on it, or nothing, was found
# instead (IoU 0.10, 0.11 and 0.12 before; 100209, 0.00 before: sides of 0.88 and 1.00, judged
# as three with the unseen third at half).
@pytest.mark.parametrize("seed", [37, 224, 100175, 100209])
def test_card_crossing_the_frame_is_found(seed: int) -> None:
    assert_found(seed, 0.95, tag="out_of_frame")


# Photo-backdrop scenes (seeds 7, 1 and 8 of the evaluation) with a card held up over a corner
# of the frame and a finger over one of the two sides it shows (supported 0.80-0.85): at
# `quads._CORNER_SIDE` 0.85 its photo or nothing was found instead.
@pytest.mark.parametrize("seed", [700068, 100211, 800190])
def test_card_over_a_corner_with_a_finger_on_a_side_is_found(seed: int) -> None:
    assert_decided_by("quads._CORNER_SIDE", 0.85, seed, 0.95, photos=True)


# A card held close across the frame with its photo or code in view: the card's band holds the
# quads well inside it, taken as running on past the frame (seeds 285 and 177 of the
# evaluation, IoU 0.13 and 0.10 before: the photo; cards held upright across a desk, 0.06-0.11
# before: the KTP's photo, reaching past the frame, or the KPJ's code).
@pytest.mark.parametrize("seed", [285, 177])
def test_card_held_close_is_found_not_its_photo(seed: int) -> None:
    assert_found(seed, 0.95, tag="out_of_frame")


@pytest.mark.parametrize(("kind", "seed", "turned"),
                         [("kpj", 1, False), ("kpj", 1, True), ("ktp", 0, False),
                          ("ktp", 0, True), ("ktp", 3, False), ("ktp", 3, True)])
def test_card_held_upright_across_the_frame_is_found_not_its_photo_or_code(
        kind: str, seed: int, turned: bool) -> None:
    frame = np.full((H, W, 3), (60, 80, 100), np.uint8)
    corners = np.array([[905, -52], [905, 773], [380, 773], [380, -52]], np.float64)
    if turned:
        corners = np.roll(corners, 2, axis=0)
    image = paste_document(frame, render_document(kind, seed), corners)
    quad = detect_document(image)
    assert quad is not None
    assert quad_iou_in_frame(quad, corners.astype(np.float32), W, H) >= 0.95


def test_a_card_held_close_runs_on_past_the_frame() -> None:
    from booth_client.documents.detect.candidates import _run_on

    # Across the top and bottom of a 320x180 frame, its sides converging downwards.
    band = np.array([[[139.0, 0.0], [285.0, 0.0], [282.0, 179.0], [157.0, 179.0]]])
    assert _run_on(band, 320, 180)[0].tolist() == [[121.0, -179.0], [288.0, -179.0],
                                                   [279.0, 358.0], [175.0, 358.0]]
    # A quad with no side on the border is left as it is.
    inside = np.array([[[50.0, 20.0], [150.0, 25.0], [145.0, 90.0], [55.0, 85.0]]])
    assert _run_on(inside, 320, 180).tolist() == inside.tolist()


def _crossing_frame(step: bool) -> npt.NDArray[np.uint8]:
    """A textured desk crossed top to bottom by a pale card (`step`) or by two thin pale lines
    (a brick wall's mortar, a striped cloth) as far apart as the card is wide."""
    rng = np.random.default_rng(5)
    frame = np.clip(rng.normal((60, 70, 80), 12, (H, W, 3)), 0, 255).astype(np.uint8)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    if step:
        cv2.rectangle(frame, (420, -10), (900, H + 10), (200, 215, 225), -1)
    else:
        for x in (420, 900):
            cv2.line(frame, (x, -10), (x + 10, H + 10), (200, 215, 225), 6)
    return cv2.GaussianBlur(frame, (3, 3), 0)


@pytest.mark.parametrize("portrait", [False, True])
def test_pale_card_crossing_the_frame_is_found(portrait: bool) -> None:
    # Landscape: across the top and bottom; portrait (the frame turned): across its sides.
    truth = np.array([[420, 0], [900, 0], [900, H - 1], [420, H - 1]], np.float32)
    frame = _crossing_frame(step=True)
    if portrait:
        frame, truth = np.ascontiguousarray(frame.transpose(1, 0, 2)), truth[:, ::-1].copy()
    quad = detect_document(frame)
    assert quad is not None
    height, width = frame.shape[:2]
    assert quad_iou_in_frame(quad, truth, width, height) >= 0.95


@pytest.mark.parametrize("portrait", [False, True])
def test_band_between_two_lines_across_one_surface_is_not_a_card(portrait: bool) -> None:
    frame = _crossing_frame(step=False)
    if portrait:
        frame = np.ascontiguousarray(frame.transpose(1, 0, 2))
    assert detect_document(frame) is None


def test_colour_steps_tell_an_outline_from_a_thin_line() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.verify import colour_steps, crossing_ok

    # The same quad in the shrunk frame (320x180): the card's sides, or the two lines.
    quad = np.array([[[105.0, 0.0], [225.0, 0.0], [225.0, 179.0], [105.0, 179.0]]])
    card = prepare(_crossing_frame(step=True))
    lines = prepare(_crossing_frame(step=False))
    on_card, on_lines = colour_steps(card, quad)[0], colour_steps(lines, quad)[0]
    # The top and bottom lie on the frame's border: nothing is read across them.
    assert np.isnan(on_card[[0, 2]]).all() and np.isnan(on_lines[[0, 2]]).all()
    assert (on_card[[1, 3]] > 150).all() and (on_lines[[1, 3]] < 20).all()
    assert crossing_ok(on_card[None]).tolist() == [True]
    assert crossing_ok(on_lines[None]).tolist() == [False]


def test_two_sided_tells_a_card_shown_by_two_sides_from_two_lines() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.verify import two_sided

    nan = np.nan
    # Across the frame (top and bottom out of view), over a corner (two neighbouring sides in
    # view), and wholly in view; the same quads in the card's frame and in the two lines'.
    quads = np.array([[[105.0, 0.0], [225.0, 0.0], [225.0, 179.0], [105.0, 179.0]],
                      [[200.0, 100.0], [330.0, 100.0], [330.0, 190.0], [200.0, 190.0]],
                      [[100.0, 40.0], [230.0, 40.0], [230.0, 120.0], [100.0, 120.0]]])
    support = np.array([[nan, 0.9, nan, 0.9], [0.9, nan, nan, 0.9], [0.9, 0.9, 0.9, 0.9]])
    on_card = two_sided(prepare(_crossing_frame(step=True)), quads, support)
    on_lines = two_sided(prepare(_crossing_frame(step=False)), quads, support)
    # The card held close and the card over a corner are judged on their two sides; a quad
    # wholly in view is not, and passes on to the other checks.
    assert [m.tolist() for m in on_card] == [[True, True, False], [True, True, True]]
    # Two lines across one surface are neither a card shown by two sides nor anything else.
    assert [m.tolist() for m in on_lines] == [[False, True, False], [False, True, True]]


# Portrait (720x1280) scenes with a small hand-held card (long side 170-230 px) in a room with
# long vertical lines: the card's short sides lost to them in the line search (IoU 0.00 before).
# A short line that closes a corner at both of its ends is now kept.
@pytest.mark.parametrize("seed", [8, 60, 61])
def test_small_card_in_a_portrait_frame_is_found(seed: int) -> None:
    assert_found(seed, 0.9, tag="hand_held", width=H, height=W)


# Portrait hand-held scenes where the head's outline, cut into thin 45-degree arcs, filled the
# line search with its tangents and the card's sides were not among the lines kept (IoU 0.00,
# 0.60 and 0.00 before; seed 78 measures 0.00 with the rule off). Runs that bow like an arc are
# no longer segments.
@pytest.mark.parametrize(("seed", "min_iou"), [(25, 0.8), (36, 0.95), (78, 0.95)])
def test_card_held_under_a_head_in_a_portrait_frame_is_found(seed: int, min_iou: float) -> None:
    assert_found(seed, min_iou, tag="hand_held", width=H, height=W)


def test_a_run_that_bows_is_not_a_segment() -> None:
    from .test_lines import sagitta

    def bow(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> float:
        xs, ys = np.round(xs), np.round(ys)
        cx, cy = xs.mean(), ys.mean()
        vxx, vyy = ((xs - cx) ** 2).mean(), ((ys - cy) ** 2).mean()
        vxy = ((xs - cx) * (ys - cy)).mean()
        phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
        major = (vxx + vyy) / 2 + np.hypot((vxx - vyy) / 2, vxy)
        third = np.array([[(xs ** 3).mean()], [(ys ** 3).mean()], [(xs * xs * ys).mean()],
                          [(xs * ys * ys).mean()]])
        second = (np.array([(xs * xs).mean()]), np.array([(ys * ys).mean()]),
                  np.array([(xs * ys).mean()]))
        return float(sagitta(third, second, (np.array([cx]), np.array([cy])),
                              np.array([phi]), np.array([np.sqrt(12 * major)]))[0])

    # An arc of 45 degrees on a circle of radius 60 px bows by r (1 - cos 22.5) = 4.6 px.
    t = np.linspace(-np.pi / 8, np.pi / 8, 60) + 0.3
    assert abs(bow(100 + 60 * np.cos(t), 100 + 60 * np.sin(t))) == pytest.approx(4.57, abs=0.2)
    # A straight run, at an angle (pixel steps), does not.
    u = np.arange(50.0)
    assert abs(bow(10 + u * np.cos(0.4), 20 + u * np.sin(0.4))) < 0.2


def test_a_head_gives_no_lines_and_a_card_its_four() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.lines import segment_lines

    image = np.full((W, H, 3), (110, 120, 100), np.uint8)  # portrait
    cv2.ellipse(image, (400, 360), (190, 250), 0, 0, 360, (150, 170, 220), -1, cv2.LINE_AA)
    cv2.rectangle(image, (120, 900), (420, 1089), (200, 120, 60), -1)
    lines = segment_lines(prepare(image))
    # Every line found is a side of the card: x = 120 or 420, y = 900 or 1089 (shrunk 4x).
    sides = [(1.0, 0.0, x) for x in (120, 420)] + [(0.0, 1.0, y) for y in (900, 1089)]
    for a, b, c in lines:
        assert any(abs(abs(a * sa + b * sb) - 1) < 1e-2 and abs(abs(c) - ((v + 0.5) / 4 - 0.5))
                   < 1.5 for sa, sb, v in sides), (a, b, c)
    assert len(lines) >= 4


def test_short_lines_closing_corners_are_kept() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.lines import segment_lines

    # A small card among many long parallel lines (blinds, a door frame, ruled paper): its two
    # short sides are shorter than all of them.
    image = np.full((H, W, 3), (90, 100, 110), np.uint8)
    for x in range(60, W, 120):
        cv2.line(image, (x, 0), (x, H - 1), (200, 210, 220), 6)
    cv2.rectangle(image, (470, 300), (710, 451), (30, 40, 160), -1)
    lines = segment_lines(prepare(image))
    # The short sides run along y (normal along x) at x = 470 and 710 in the frame.
    xs = [abs(c) for a, _, c in lines if abs(a) > 0.99]
    for x in (470, 710):
        assert min(abs(v - ((x + 0.5) / 4 - 0.5)) for v in xs) < 1.0


@pytest.mark.parametrize(("size", "work"), [
    ((1280, 720), (320, 180)), ((640, 480), (320, 240)), ((480, 360), (320, 240)),
    ((1920, 1080), (320, 180)), ((720, 1280), (180, 320)), ((3264, 2448), (320, 240)),
    ((400, 300), (400, 300)), ((320, 240), (320, 240)),
])
def test_every_frame_size_is_searched_at_the_working_size(size: tuple[int, int],
                                                          work: tuple[int, int]) -> None:
    from booth_client.documents.detect.edges import _shrink

    w, h = size
    small, factor = _shrink(np.zeros((h, w, 3), np.uint8))
    assert small.shape[:2] == (work[1], work[0])
    assert factor == pytest.approx(w / work[0])


@pytest.mark.parametrize(("size", "work"), [
    ((720, 1280), (248, 440)), ((1080, 1920), (248, 440)), ((768, 1024), (330, 440)),
    ((3024, 4032), (330, 440)), ((330, 440), (330, 440)), ((1600, 900), (400, 225)),
])
def test_a_portrait_frame_is_brought_to_its_working_size(size: tuple[int, int],
                                                         work: tuple[int, int]) -> None:
    # A landscape frame's halving a little over the working size is searched as it is; a
    # portrait frame's is brought to the portrait working size (a phone's 3:4 portrait photo,
    # 3024x4032, was searched at 378x504 and its document found less often).
    from booth_client.documents.detect.edges import PORTRAIT_LONG_SIDE, _shrink

    w, h = size
    small, factor = _shrink(np.zeros((h, w, 3), np.uint8), PORTRAIT_LONG_SIDE if h > w else 320)
    assert small.shape[:2] == (work[1], work[0])
    assert factor == pytest.approx(max(w, h) / max(work))


@pytest.mark.parametrize("size", [(1280, 720), (722, 1282), (1281, 721), (2560, 1440)])
def test_halving_averages_two_by_two_blocks(size: tuple[int, int]) -> None:
    # The working frame is the mean of 2x2 blocks, however it is computed (bilinear sampling
    # midway on even sizes, INTER_AREA on odd ones).
    from booth_client.documents.detect.edges import _shrink

    w, h = size
    image = np.random.default_rng(w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    expected = image
    while max(expected.shape[:2]) >= 640:
        eh, ew = expected.shape[:2]
        expected = np.asarray(cv2.resize(expected, (ew // 2, eh // 2),
                                         interpolation=cv2.INTER_AREA), np.uint8)
    small, _ = _shrink(image)
    assert np.array_equal(small, expected)


@pytest.mark.parametrize(("size", "work"), [((360, 640), (248, 440)), ((384, 512), (330, 440)),
                                           ((480, 270), (320, 180)), ((540, 960), (248, 440)),
                                           ((700, 500), (320, 229))])
def test_the_shrinking_to_the_working_size_is_inter_area(size: tuple[int, int],
                                                         work: tuple[int, int]) -> None:
    # The same bytes as cv2.resize with INTER_AREA on the uint8 frame, noise and a smooth ramp.
    from booth_client.documents.detect.edges import _area_shrunk

    w, h = size
    rng = np.random.default_rng(w * h)
    ramp = np.linspace(0, 255, w * h * 3).reshape(h, w, 3)
    for image in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                  np.asarray(ramp, np.uint8)):
        expected = cv2.resize(image, work, interpolation=cv2.INTER_AREA)
        assert np.array_equal(_area_shrunk(image, work), expected)


@pytest.mark.parametrize("size", [(640, 360), (360, 640), (1920, 1080), (8, 12)])
def test_the_three_quarter_shrinking_is_inter_area(size: tuple[int, int]) -> None:
    # The same bytes as cv2.resize with INTER_AREA to 3/4 (the finer search's working frame of a
    # 1280x720 frame), on noise and a smooth ramp.
    from booth_client.documents.detect.edges import _three_quarters

    w, h = size
    rng = np.random.default_rng(w + h)
    ramp = np.linspace(0, 255, w * h * 3).reshape(h, w, 3)
    for image in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8), np.asarray(ramp, np.uint8)):
        expected = cv2.resize(image, (w // 4 * 3, h // 4 * 3), interpolation=cv2.INTER_AREA)
        assert np.array_equal(_three_quarters(image), expected)


@pytest.mark.parametrize("size", [(480, 360), (1920, 1080), (2448, 3264)])
def test_card_is_found_precisely_at_any_frame_size(size: tuple[int, int]) -> None:
    w, h = size
    frame = np.full((h, w, 3), (70, 90, 110), np.uint8)
    # An ID-1 card under slight perspective, half the frame's short side wide.
    shape = np.array([[-0.8, -0.5], [0.8, -0.45], [0.78, 0.5], [-0.82, 0.46]])
    corners = np.array([w / 2, h / 2]) + shape * 0.3 * min(w, h)
    image = paste_document(frame, render_document("ktp", 3), corners)
    quad = detect_document(image)
    assert quad is not None
    assert np.abs(quad - corners).max() < 0.002 * max(w, h)


# A low-light scene (seed 1 of the evaluation) where sensor noise breaks a card side into runs
# too short to count as segments, so that side is never a line (IoU 0.11 with the rule off). In
# a dark frame shorter runs are kept and merged into the side's line.
@pytest.mark.parametrize("seed", [100252])
def test_card_side_in_a_dark_noisy_frame_is_found(seed: int) -> None:
    assert_found(seed, 0.9, tag="low_light")


# Seed-0 scenes where a card's outline lost to the line under its printed band or to a quad
# with a side of next to no support (IoU 0.71-0.88 before): both neighbours of the card's top
# side run on past its corners by chance (fingers, the room), with no band's outer edge beyond
# it, so it no longer pays the full penalty for being crossed.
@pytest.mark.parametrize("seed", [139, 166, 190, 230])
def test_crossed_side_without_a_band_beyond_is_the_outline(seed: int) -> None:
    assert_found(seed, 0.95)


@pytest.mark.parametrize(("seed", "width", "height"),
                         [(183, H, W), (136, W, H), (189, W, H)])
def test_small_card_among_real_textures_is_found_by_the_finer_search(seed: int, width: int,
                                                                     height: int) -> None:
    # Cards held up in front of real photographs (a twentieth to a tenth of the frame),
    # portrait and landscape: the first search (440 px for a portrait frame, 320 px for a
    # landscape one) finds nothing, the 480 px one the card. (The card of seed 73, in front of a
    # man with a camera, is now found by the first search: it closes the U of its three sides
    # that are lines; so are those of seeds 1 and 158, on a brick wall and chalk writing, at 0.96
    # and 0.99, since the first search groups the 300 longest segments into lines,
    # `lines._MAX_SEGMENTS`; and those of 188 and 235 (portrait and landscape), which stand out
    # from the textures around them and are ranked into the shortlist since the best quads are
    # valued by how far they stand out, `candidates._STAND_OUT_WEIGHT`.)
    from booth_client.documents.backdrops import real_photographs
    from booth_client.documents.detect import _search
    from booth_client.documents.detect.edges import PORTRAIT_LONG_SIDE, prepare

    scene = make_scene(seed, width, height, backdrops=real_photographs())
    assert scene.quad is not None
    first = prepare(scene.image, PORTRAIT_LONG_SIDE) if height > width else prepare(scene.image)
    assert _search(scene.image, first)[0] is None
    quad = detect_document(scene.image)
    assert quad is not None
    assert quad_iou_in_frame(quad, scene.quad, width, height) > 0.95


def test_finer_search_takes_only_a_whole_firm_outline() -> None:
    from booth_client.documents.detect import FINE_MIN_SCORE, Detection, small_and_firm

    quad = np.zeros((4, 2), np.float32)
    assert small_and_firm(Detection(quad, FINE_MIN_SCORE, (0.5, 1.0, 0.8, 0.7)))
    assert not small_and_firm(Detection(quad, FINE_MIN_SCORE - 0.01, (0.5, 1.0, 0.8, 0.7)))
    # A side mostly outside the frame (-1): a document reaching out of view is no small one.
    assert not small_and_firm(Detection(quad, 0.9, (1.0, 1.0, -1.0, 0.9)))


# Scenes of the evaluation (a KTP held up in a dim room, drawn, seed 1 at 1280x720; an NPWP in
# front of a photograph, seed 7; an NPWP in a blur, seed 1 at 800x600) where the first search
# found nothing that passed and the finer one found the card, fingers over its sides, passing
# every final check with a score of 0.70-0.75: it was refused as not firm enough (nothing was
# found). (Seed 9's 900297 was one too; with `completion.MAX_COMPLETIONS` at 10 the first search
# closes its card's U.)
@pytest.mark.parametrize(("seed", "width", "height", "photos", "min_iou"),
                         [(100208, W, H, False, 0.9), (700271, W, H, True, 0.8),
                          (100102, 800, 600, True, 0.95)])
def test_a_card_held_with_fingers_is_taken_from_the_finer_search(
        seed: int, width: int, height: int, photos: bool, min_iou: float) -> None:
    assert_decided_by("FINE_MIN_SCORE", 0.75, seed, min_iou, width=width, height=height,
                      photos=photos)


@pytest.mark.parametrize(("shape", "searches"), [
    ((240, 320), [320]), ((300, 400), [320]), ((360, 480), [320, 480]),
    ((720, 1280), [320, 480]),
])
def test_finer_search_only_where_the_frame_was_shrunk(
        monkeypatch: pytest.MonkeyPatch, shape: tuple[int, int], searches: list[int]) -> None:
    # A frame searched as it is (up to 400 px) has no finer working frame to search again.
    import booth_client.documents.detect as detect
    from booth_client.documents.detect.edges import Work

    made: list[int] = []
    real = detect.prepare

    def spy(image: npt.NDArray[np.uint8], long_side: int = 320,
            halves: list[npt.NDArray[np.uint8]] | None = None) -> Work:
        made.append(long_side)
        return real(image, long_side, halves)

    monkeypatch.setattr(detect, "prepare", spy)
    assert detect.find_document(np.full((*shape, 3), 128, np.uint8)) is None
    assert made == searches


def _outward_offsets(found: npt.NDArray[np.float32], truth: npt.NDArray[np.float64]) -> (
        npt.NDArray[np.float64]):
    """Per side of `truth` (TL, TR, BR, BL), how far the found quad's side lies outside it
    (px, mean of its two ends and its middle)."""
    centre = truth.mean(axis=0)
    offsets = []
    for s in range(4):
        a, b = truth[s], truth[(s + 1) % 4]
        d = (b - a) / np.linalg.norm(b - a)
        normal = np.array([d[1], -d[0]])
        if np.dot(normal, (a + b) / 2 - centre) < 0:
            normal = -normal
        p, q = found[s].astype(np.float64), found[(s + 1) % 4].astype(np.float64)
        offsets.append(np.mean([np.dot(x - a, normal) for x in (p, q, (p + q) / 2)]))
    return np.array(offsets)


@pytest.mark.parametrize(("blur", "within"), [(0.0, 0.3), (1.5, 0.3), (2.5, 1.5)])
def test_the_quad_returned_lies_on_the_edge_centres(blur: float, within: float) -> None:
    # The checks judge a candidate on the outer flank of each edge, which lies outside the
    # outline by half the edge's width; the quad returned is fitted to the edges' centres.
    # Measured: sharp 0.03 px (before 0.08), blurred by 1.5 px 0.16 (before 2.3) and by 2.5
    # px 1.1 (before 3.5: that edge's centre lies at the end of the window sampled).
    corners = np.array([[380.0, 210.0], [905.0, 240.0], [885.0, 560.0], [360.0, 520.0]])
    frame = np.full((H, W, 3), (70, 85, 95), np.uint8)
    image = paste_document(frame, render_document("ktp", 5), corners)
    if blur:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), blur), np.uint8)
    found = detect_document(image)
    assert found is not None
    offsets = _outward_offsets(found, corners)
    assert np.abs(offsets).max() < within


@pytest.mark.parametrize("seed", [47, 53])
def test_a_large_photo_is_snapped_on_its_halving(seed: int) -> None:
    # Dim photo-backdrop scenes seen at 3840x2160 (the frame scaled up 3 times, so its blur
    # spans 3 times the pixels, as the same lens's does on a larger sensor). Snapped and
    # judged on the frame itself the card is lost (IoU 0.00: the few pixels the snapping
    # and the checks look across see only part of each edge); on its halving it is found.
    # (The detector's floating-point results differ slightly from one CPU to another, and
    # a faint side can be borderline in the straightness check: seed 27 is lost on an AMD
    # EPYC without AVX-512 and seed 95 (IoU 0.75) on one with it. Seeds 47 and 53 are found
    # on all three machines it has run on, an Intel one with AVX-512 and those two.)
    from booth_client.documents.backdrops import real_photographs
    from booth_client.documents.detect import MAX_FIT_SIDE

    scene = make_scene(seed, backdrops=real_photographs())
    assert scene.quad is not None
    large = np.asarray(cv2.resize(scene.image, None, fx=3, fy=3,
                                  interpolation=cv2.INTER_CUBIC), np.uint8)
    assert max(large.shape[:2]) > MAX_FIT_SIDE
    quad = detect_document(large)
    assert quad is not None
    assert quad_iou_in_frame(quad, (scene.quad + 0.5) * 3 - 0.5, 3840, 2160) > 0.95


# Dim, defocused scenes (seed 0 of the evaluation) whose document the line search finds right
# (first candidate, within 1 px at 320 px) but whose snapped quad fails the checks: the noise
# pulls the snapping off the soft outline (IoU 0.00 before). (Seed 183, a grey card on a grey
# desk, stands out too little from it since `surround.MIN_SURROUND_DISTANCE` is 0.5. Seed
# 111's snapped quad, two sides seen in part, passes since a quad standing out clearly may
# show a second side in part, `verify.PARTLY_SEEN_SIDE`: that is turned off here.)
@pytest.mark.parametrize("seed", [95, 111])
def test_dim_document_lost_by_the_snapping_is_taken_as_found(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect
    from booth_client.documents.detect import _search
    from booth_client.documents.detect.edges import prepare

    monkeypatch.setattr(detect, "PARTLY_SEEN_SIDE", 0.65)
    scene = make_scene(seed)
    assert scene.quad is not None and "low_light" in scene.tags
    work = prepare(scene.image)
    assert work.dark
    found, tried = _search(scene.image, work)
    assert found is None and len(tried) > 0
    assert_found(seed, 0.95, tag="low_light")


# In a dim frame the quads taken as found must fill a tenth of the frame: the smaller ones such
# frames offer are stones, mortar and shadows (without the floor, 4 more false detections over
# 400 negatives of the evaluation). The dim bank book of seed 95 fills 0.28 of its frame.
def test_a_quad_taken_as_found_fills_enough_of_the_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    import booth_client.documents.detect as detect
    from booth_client.documents.detect.edges import prepare

    scene = make_scene(95)
    work = prepare(scene.image)
    _, tried = detect._search(scene.image, work)
    assert detect._as_found(scene.image, work, tried) is not None
    monkeypatch.setattr(detect, "_AS_FOUND_MIN_FILL", 0.3)
    assert detect._as_found(scene.image, work, tried) is None


# Scenes in front of real photographs (seeds 0 and 1 of the evaluation) where a quad along thin
# lines across one surface (a brick wall's mortar, the print inside a card, a jacket's seams)
# was valued above the card's outline (IoU 0.22-0.47 before): the best quads are now valued
# less where their sides do not separate two surfaces.
@pytest.mark.parametrize("seed", [47, 254, 262, 100068])
def test_quads_along_lines_across_one_surface_rank_below_the_outline(seed: int) -> None:
    assert_found(seed, 0.85, photos=True)


def test_surface_lack_counts_the_sides_that_separate_nothing() -> None:
    from booth_client.documents.detect.candidates import _surface_lack

    steps = np.array([[80.0, 45.0, 30.0, 200.0], [0.0, 0.0, 0.0, 0.0],
                      [15.0, 15.0, np.nan, np.nan], [0.0, 60.0, 60.0, 60.0]])
    assert _surface_lack(steps).tolist() == pytest.approx([0.0, 1.0, 0.25, 0.25])


# A scene in front of a real photograph where the card, its side crossed by the lines of its top
# and bottom running on through the grass beside it, was taken for the field below a band of
# a quad taking in that grass (IoU 0.72 before): the larger quad was 1.7 times the card's area,
# where a card's band is at most a quarter of it. (The second scene of this test, seed 1 at
# 720x1280, is lost since a portrait frame's segments may be shorter, `lines._SEGMENT_SIDE`: a
# keyboard's edge at the frame's bottom is valued 0.49 there, the card 0.48, and taken.)
@pytest.mark.parametrize(("seed", "width", "height"), [(270, W, H)])
def test_a_card_beside_background_is_not_taken_for_the_field_below_a_band(
        seed: int, width: int, height: int) -> None:
    assert_found(seed, 0.95, width=width, height=height, photos=True)


# Scenes in front of real photographs where the first quad to pass was the card with a strip of
# what lies beside it, or less a strip of its own (IoU 0.72-0.80 before), and the card itself
# came next: of the two near copies, the one that stands out more from its surroundings is
# taken (`detect._clearer_sibling`).
@pytest.mark.parametrize("seed", [115, 100034, 100178])
def test_of_two_near_copies_the_one_standing_out_more_is_taken(seed: int) -> None:
    assert_found(seed, 0.95, photos=True)


# Drawn scenes where a card with its shadow stands out more than the card, for the dark strip
# it takes in: the card goes first (`shadow_order`) and stays.
@pytest.mark.parametrize("seed", [100087, 200281])
def test_a_card_is_not_traded_for_the_card_with_its_shadow(seed: int) -> None:
    assert_found(seed, 0.95)


# Scenes of the evaluation where the card showed three of its sides as lines and not the fourth
# (its edges there touch the texture's and make no thin straight run, or fingers cut them short,
# or it is pale on a pale ground): the card was missed, or a part of it, a brick or its code
# taken (IoU 0.00-0.43 before). The U its three sides make is closed where their edges end
# (`completion.completions`); without the completions the card is missed again. (Seed 256's
# card is found without them too, at 0.94, since the wrong quads taken before stand out too
# little from what lies around them, `surround.MIN_SURROUND_DISTANCE`; so are seed 254's and the
# pale card on a pale ruled page of seed 100145, at 0.99, since the line search groups the 300
# longest segments into lines, `lines._MAX_SEGMENTS`, and their fourth sides are lines; that of
# 100232, at 0.93; and that of 100286, at 0.64, since the best quads are valued by how far they
# stand out from what lies around them, `candidates._STAND_OUT_WEIGHT`: a part of the card is
# found then. 500114, a card on a brick wall, is closed so.)
@pytest.mark.parametrize(("seed", "width", "height", "photos", "least"), [
    (500114, W, H, True, 0.95), (100068, 720, 1280, True, 0.95), (100106, 720, 1280, True, 0.95)])
def test_a_card_showing_three_sides_as_lines_is_closed_where_their_edges_end(
        seed: int, width: int, height: int, photos: bool, least: float,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents.detect import candidates

    assert_found(seed, least, width=width, height=height, photos=photos)
    monkeypatch.setattr(candidates, "completions",
                        lambda *_: (np.zeros((0, 3)), np.zeros((0, 4), np.intp),
                                    np.zeros(0, np.bool_)))
    assert scene_iou(seed, width=width, height=height, photos=photos) < 0.5


# Negatives (seeds of the evaluation) where a completed U passed the other checks: a quad
# around the spoons on a saucer. Their sides are each seen only in part; a card's three lines
# that close a U are seen whole, two of them at least. (The scenes of this test before, a dark
# disc in a dim, flat frame and a patch on a jacket, close no such U since arms cut short are
# followed past a finger's width, `completion._FINGER_GAP`; a quad on a man's face beside a
# camera, 50037, stands out too little from what lies around it since
# `surround.MIN_SURROUND_DISTANCE` is 0.5; in 150070 the quads that stand out more from what
# lies around them are ranked before that U, `candidates._STAND_OUT_WEIGHT`, and none passes.
# No other negative of 4,200 in 14 evaluation sets is detected without this rule.)
@pytest.mark.parametrize(("seed", "width", "height", "photos"), [(150010, W, H, True)])
def test_a_completed_quad_needs_two_sides_seen_whole(seed: int, width: int, height: int,
                                                     photos: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect
    from booth_client.documents.backdrops import real_photographs

    scene = make_scene(seed, width, height, negative=True,
                       backdrops=real_photographs() if photos else ())
    assert detect_document(scene.image) is None
    monkeypatch.setattr(detect, "_COMPLETED_SIDES", 0.0)
    assert detect_document(scene.image) is not None


# A drawn scene where a completed U, the card with its shadow, took the third place of the
# shortlist and pushed the card out of it, past the shadow test (IoU 0.93 before completions,
# 0.83 with them): completed U's take no place of the line search's quads there.
def test_a_completed_quad_does_not_push_the_card_out_of_the_shadow_test() -> None:
    from booth_client.documents.detect.candidates import line_candidates
    from booth_client.documents.detect.edges import prepare

    scene = make_scene(200159)
    found = line_candidates(prepare(scene.image))
    assert found is not None and found.completed[:3].any()
    assert_found(200159, 0.93)


def _walk(row: npt.NDArray[np.bool_], start: int, step: int, limit: int, gap: int) -> int:
    """How many stations on from `start` (stepping `step`, fewer than `limit`) the run of hits
    in `row` reaches, gaps of up to `gap` stations bridged: to its last hit."""
    last, missed = 0, 0
    for k in range(1, limit):
        t = start + step * k
        if not 0 <= t < len(row):
            break
        if row[t]:
            last, missed = k, 0
        else:
            missed += 1
            if missed > gap:
                break
    return last


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 40), st.floats(0.1, 0.9),
       st.integers(2, 45))
def test_run_lengths_bridge_short_gaps_only(seed: int, n_lines: int, n_t: int, density: float,
                                            limit: int) -> None:
    from booth_client.documents.detect.completion import RUN_GAP, run_lengths

    # Two maps (kinds of edge) of as many lines, as `Profiles.hits` counts them.
    hit = np.random.default_rng(seed).random((2, n_lines, n_t)) < density
    hits = np.zeros((2, n_lines, n_t + 1), np.int32)
    hits[..., 1:] = np.cumsum(hit, axis=2)
    # From every station of every line, both ways, of either kind and of any.
    line, start, step, kind = (v.ravel().astype(np.int64) for v in np.meshgrid(
        np.arange(n_lines), np.arange(n_t), [1, -1], [-1, 0, 1], indexing="ij"))
    got = run_lengths(hits, line, start, step, kind, np.full(len(line), limit, np.int64),
                      RUN_GAP)
    expected = [_walk(hit.any(axis=0)[i] if m < 0 else hit[m, i], t, d, limit, RUN_GAP)
                for i, t, d, m in zip(line, start, step, kind, strict=True)]
    assert got.tolist() == expected


def _pale_card(seed: int) -> npt.NDArray[np.uint8]:
    """A pale card on a grey ground with a little noise (`seed`): in the working frame (a
    quarter), from x 100 to 190 and y 100 to 157."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(120.0, 3.0, (H, W, 3)), 0, 255).astype(np.uint8)
    cv2.rectangle(image, (400, 400), (760, 628), (215, 220, 225), -1)
    return image


def _closings(image: npt.NDArray[np.uint8], lines: npt.NDArray[np.float64]) -> Callable[
        [float], bool]:
    """For `image` (blurred a little, as a lens does) and `lines` in its working frame: whether
    `completion.completions` closes a U of those lines with a vertical line through x. (Read
    at each call, so a constant patched in between counts.)"""
    from booth_client.documents.detect import completion
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.profiles import between_pairs, profiles
    from booth_client.documents.detect.quads import parallel_pairs

    work = prepare(cv2.GaussianBlur(image, (0, 0), 1.5))
    h, w = work.gray.shape
    prof = profiles(work, lines, len(lines))
    pairs = parallel_pairs(prof.lines, h, w)
    table = between_pairs(prof, pairs)

    def closing_at(x: float) -> bool:
        closing, _, _ = completion.completions(prof, pairs, table, len(lines), (h, w))
        # A vertical line through x (nx x + ny y + c = 0 with |nx| ~ 1).
        return any(abs(abs(nx) - 1.0) < 0.01 and abs(-c / nx - x) < 3.0
                   for nx, _, c in closing)

    return closing_at


def test_a_u_is_closed_where_one_kind_of_edge_ends() -> None:
    """A pale card with a dark phone beside it, the phone's top and bottom in line with the
    card's: the edges along the card's top and bottom run on along the phone's, but those of
    the card's polarity end where the card does. Its right side is not among the lines (as
    when fingers hide it): the U of its other three sides is closed there."""
    from booth_client.documents.detect import completion

    # In the working frame (a quarter): the phone from x 190 to 250.
    image = _pale_card(5)
    cv2.rectangle(image, (760, 400), (1000, 628), (40, 40, 45), -1)
    closing_at = _closings(image, np.array([[0.0, 1.0, -99.9], [0.0, 1.0, -156.9],
                                            [1.0, 0.0, -99.9]]))
    assert closing_at(189.5)
    # Where the edges of every kind end (the phone's far end) it is not closed: that U is too
    # long for a document.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(completion, "_BY_KIND_BASE", 2.0)
        assert not closing_at(189.5)


def test_an_arm_cut_by_a_finger_is_followed_past_it() -> None:
    """A pale card whose left side is not among the lines (as when fingers hide it), and a
    finger held across its top: the edges along the top end at the finger, 12 px short of the
    left side, and the arms of the U do not match. Followed past the finger, the top's edges
    end where the bottom's do, and the U is closed at the card's left side."""
    from booth_client.documents.detect import completion

    # In the working frame (a quarter): a finger across the card's top from x 130 to 142.
    image = _pale_card(7)
    cv2.rectangle(image, (520, 320), (568, 480), (120, 150, 190), -1)
    closing_at = _closings(image, np.array([[0.0, 1.0, -99.9], [0.0, 1.0, -156.9],
                                            [1.0, 0.0, -189.5]]))
    assert closing_at(99.5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(completion, "_FINGER_GAP", completion.RUN_GAP)
        assert not closing_at(99.5)


# (The scenes of the evaluation where a finger across the card's top cut the run of its edges
# short, 300106 and 300144, are no longer decided by the wider gap: in 300144 the strip above
# the card stands out too little from what lies around it, `surround.MIN_SURROUND_DISTANCE`;
# in 300106 the card's U, closed without the gap, has only one side seen whole and a strip by
# the finger is taken, since the line search groups the 300 longest segments,
# `lines._MAX_SEGMENTS`. No scene of 1,800 in photos seeds 0, 1, 3 and 4 and portrait seeds 0
# and 1 is; the drawn card above shows the gap at work.)


# Scenes of the evaluation (photo backdrops, seed 1, 1024x768 and 1600x900: a KTP on a dim desk
# and one held up in a blur) where the card's photo passed the final checks before the card did
# (IoU 0.09 and 0.19): the card of the shortlist that holds it passes too, and is taken. (Where
# the photo stands out from what lies around it only a little, `detect._clearer_elsewhere`
# would take the card too: it is turned off here. The scene of this test before, 100217 at
# 1280x720, is found without the rule since the best quads are valued by how far they stand
# out from what lies around them, `candidates._STAND_OUT_WEIGHT`: the card is taken first.
# The card of 100179, two sides seen in part, passes first too where a quad standing out
# clearly may show a second side in part, `verify.PARTLY_SEEN_SIDE`: turned off here.)
@pytest.mark.parametrize(("seed", "width", "height"), [(100165, 1024, 768), (100179, 1600, 900)])
def test_a_card_is_taken_not_the_photo_it_holds(seed: int, width: int, height: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect

    scene = {"width": width, "height": height, "photos": True}
    assert_found(seed, 0.9, **scene)
    monkeypatch.setattr(detect, "_WEAK_SURROUND", 0.0)
    monkeypatch.setattr(detect, "PARTLY_SEEN_SIDE", 0.65)
    assert_found(seed, 0.9, **scene)
    monkeypatch.setattr(detect, "_HOLDER_AREA", np.inf)
    assert scene_iou(seed, **scene) < 0.3


# Scenes of the evaluation (photo backdrops, seeds 7 and 8 at 1280x720): a large KTP held up
# with fingers over a side, dim or in glare, whose photo was found (IoU 0.10 and 0.11). The card
# holding it was closed on the frame's edge, where its fourth side was lost, and stands out less
# than its crisp photo (below `_REACHING_SURROUND`): where what was found may be a card's photo,
# such a card need only pass the final checks.
@pytest.mark.parametrize(("seed", "min_iou"), [(700113, 0.85), (800042, 0.7)])
def test_a_large_card_held_with_fingers_is_taken_not_its_photo(seed: int, min_iou: float) -> None:
    assert_decided_by("_PHOTO_HOLDER_SURROUND", 0.8, seed, min_iou, photos=True)


# Scenes of the evaluation (photo backdrops, 720x1280 seeds 0 and 1, 768x1024 seed 1): a small
# card held up with fingers over its sides or in glare, whose sides broke into runs shorter than
# a segment had to be at the portrait working frame's own long side (13.2 px; nothing found, or
# IoU 0.13). A portrait frame's shortest segment is a share of a landscape one's long side.
@pytest.mark.parametrize(("seed", "width", "height"),
                         [(102, H, W), (100161, H, W), (100109, 768, 1024)])
def test_a_small_card_in_a_portrait_frame_keeps_its_broken_sides(seed: int, width: int,
                                                                 height: int) -> None:
    assert_decided_by("lines._SEGMENT_SIDE", np.inf, seed, 0.9, width=width, height=height,
                      photos=True)


# Scenes of the evaluation (photo backdrops, seeds 4 and 5 at 1280x720, seed 1 at 720x1280)
# where a card held up with fingers over two of its sides was refused, its second-faintest
# side seen along 14 or 15 of 24 stations (0.58-0.62, below `verify._MIN_SIDE_FINAL_2`): it
# stands out clearly from what lies around it, and passes (nothing, or a part of it, was found).
# (The portrait scenes are 100015 and 100261 since a portrait frame's segments may be shorter,
# `lines._SEGMENT_SIDE`: of those chosen before, 100040 is found without the rule and 100242
# with IoU 0.80.)
@pytest.mark.parametrize(("seed", "width", "height"),
                         [(500074, W, H), (400214, W, H), (100015, H, W), (100261, H, W)])
def test_a_card_held_with_fingers_over_two_sides_is_found(seed: int, width: int,
                                                          height: int) -> None:
    assert_decided_by("PARTLY_SEEN_SIDE", 0.65, seed, 0.9, 0.6, width=width, height=height,
                      photos=True)


# Photo-backdrop scenes (seeds 7 and 8 of the evaluation) with a KPJ or NPWP card reaching out
# of view: the quad found stopped at the line under its band (IoU 0.71-0.76 before).
@pytest.mark.parametrize("seed", [700051, 700179, 700276, 800226])
def test_a_card_reaching_out_of_view_is_found_with_its_band(seed: int) -> None:
    assert_decided_by("_BEYOND_PAST", 2.0, seed, 0.95, 0.8, photos=True)


# Photo-backdrop scenes of the evaluation (seeds 0, 7, 1 and 9 at 1280x720, seed 1 at 720x1280)
# with a KPJ card wholly in view: the quad found stopped at the line above the green stripe along
# its edge (IoU 0.94 before).
@pytest.mark.parametrize(("seed", "width", "height"),
                         [(64, W, H), (700178, W, H), (100003, W, H), (900200, W, H),
                          (100134, 720, 1280)])
def test_a_card_is_found_with_the_stripe_along_its_edge(seed: int, width: int,
                                                         height: int) -> None:
    assert_decided_by("_STRIPE_HITS", 2.0, seed, 0.98, 0.95, width=width, height=height,
                      photos=True)


# Photo-backdrop scenes of the evaluation (seeds 1, 7 and 8) where a card held with fingers
# over its side, or lying on a jacket, was found with a strip of what lies beside it, one side
# on a line past the card's (IoU 0.69-0.83): its outline was seen weakly (final score below
# 0.8), and the card of the shortlist is seen better and stands out more.
@pytest.mark.parametrize("seed", [100004, 100124, 700235, 800136])
def test_a_card_seen_better_is_taken_not_the_card_with_a_strip(seed: int) -> None:
    assert_decided_by("_BETTER_WEAK", 0.0, seed, 0.98, 0.9, photos=True)


# Scenes of the evaluation (busy desk seed 1; photo backdrops, seeds 9, 3 and 7) whose card's U
# was not among the six completions the lines close first: a paklaring letter on a busy desk was
# lost to the desk's things (IoU 0.33), the cards were found less a strip (0.65-0.87).
@pytest.mark.parametrize(("seed", "min_iou", "photos"),
                         [(100257, 0.9, False), (900297, 0.98, True), (300042, 0.9, True),
                          (700141, 0.95, True)])
def test_a_card_s_u_is_closed_among_more_of_them(seed: int, min_iou: float,
                                                  photos: bool) -> None:
    assert_decided_by("completion.MAX_COMPLETIONS", 6, seed, min_iou, 0.9, photos=photos,
                      busy=not photos)


# Scenes of the evaluation without a document (photo backdrops, seeds 4 and 8 at 1280x720, seed
# 0 at 768x1024) where a quad with a second side seen in good part passes the other checks: it
# stands out from what lies around it only a little (0.52-0.70), and is refused. (Seed 3's
# 350074 was one too; since `quads._CORNER_SIDE` is 0.8, quads over a corner of its frame,
# which fail, take its place in the shortlist.)
@pytest.mark.parametrize(("seed", "width", "height"),
                         [(850024, W, H), (450023, W, H), (50099, 768, 1024)])
def test_a_quad_with_two_sides_seen_in_part_must_stand_out_clearly(
        seed: int, width: int, height: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect
    from booth_client.documents.backdrops import real_photographs

    scene = make_scene(seed, width, height, negative=True, backdrops=real_photographs())
    assert detect_document(scene.image) is None
    monkeypatch.setattr(detect, "_PARTLY_SURROUND", 0.0)
    assert detect_document(scene.image) is not None


# Scenes of the evaluation (photo backdrops, seeds 1, 3, 4 and 5) where a card held up or lying
# wholly in view, a quarter to a half of the frame, was not among the first search's shortlist
# (its outline lost among the lines of a pale wall, a face or gravel at 320 px) and the photo
# on it passed the final checks (IoU 0.09-0.22): the photo is small and not of a card's aspect,
# so the finer search is made too, and the card it finds holding the photo is taken.
@pytest.mark.parametrize("seed", [100162, 300299, 400166, 500104])
def test_a_card_lost_at_the_first_search_is_taken_not_its_photo(seed: int) -> None:
    assert_decided_by("_PHOTO_FILL", 0.0, seed, 0.95, photos=True)


# A scene of the evaluation (photo backdrops, seed 4) where the card holding the photo found is
# a U closed where its arms' edges end, with one side seen whole (the side by a finger, 0.88):
# it holds a document that passed, so it is taken (IoU 0.09 when the photo was).
def test_a_completed_card_holding_the_photo_found_is_taken() -> None:
    assert_decided_by("_HOLDER_STRONG_SIDES", 2, 400311, 0.9, photos=True)


# A document found that fills little of the frame and is not of a card's aspect may be a
# card's photo; a card found by the finer search holds it only as a card holds its photo.
def test_what_may_be_a_photo_and_what_holds_it() -> None:
    from booth_client.documents import detect
    from booth_client.documents.detect.edges import prepare

    work = prepare(np.zeros((720, 1280, 3), np.uint8))
    assert work.factor == 4.0

    def found(x0: float, y0: float, x1: float, y1: float) -> detect.Detection:
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
        return detect.Detection(quad, 1.0, (1.0,) * 4)

    photo = found(800, 300, 950, 500)  # 3:4, 3 % of the frame
    assert detect._maybe_a_photo(work, photo)
    # A card of that size, or a page (A4's aspect) filling much of the frame, is not.
    assert not detect._maybe_a_photo(work, found(800, 300, 1038, 450))
    assert not detect._maybe_a_photo(work, found(200, 100, 820, 540))
    card = found(380, 200, 1020, 603)  # ID-1, around the photo
    assert detect._card_holding(work, card, photo)
    # Not a card's aspect; not around the photo; less than four times its area.
    assert not detect._card_holding(work, found(380, 100, 1020, 603), photo)
    assert not detect._card_holding(work, found(100, 200, 740, 603), photo)
    assert not detect._card_holding(work, found(770, 290, 1119, 510), photo)


# Scenes of the evaluation (photo backdrops, seeds 0 and 1) where the photo of a KTP reaching out
# of view was found (IoU 0.14 and 0.12): it stands out clearly from what lies around it (the card
# all around it), so `detect._clearer_elsewhere` does not go on; the card holding it, reaching
# out of view, passes the final checks and stands out clearly too (0.94, 0.81), and is taken.
# (What was found may be a card's photo, `_maybe_a_photo`, so the card is taken by the stand-out
# asked of such a card, `_PHOTO_HOLDER_SURROUND`; it was `_REACHING_SURROUND`'s 0.8 before.)
@pytest.mark.parametrize("seed", [215, 100138])
def test_a_card_reaching_out_of_view_is_taken_not_the_photo_it_holds(seed: int) -> None:
    assert_decided_by("_PHOTO_HOLDER_SURROUND", np.inf, seed, 0.95, photos=True)


# Scenes of the evaluation (photo backdrops, seeds 0 and 4) where the photo of a KTP reaching out
# of view was found (IoU 0.12 and 0.10) and the card holding it, a side cut short by the
# frame's edge and so not well seen, was not judged on its sides in view: it stands out clearly
# and holds the photo, so it is, and is taken.
@pytest.mark.parametrize("seed", [28, 400234])
def test_a_card_reaching_out_of_view_is_judged_on_its_sides_in_view(seed: int) -> None:
    assert_decided_by("_REACHING_IN_VIEW", False, seed, 0.95, 0.2, photos=True)


# A scene of the evaluation (busy desks, seed 0) where an NPWP card lies on a sheet of paper
# that reaches out of view: the sheet holds the card, passes the final checks and stands out
# clearly, but the card has an ID-1 card's aspect and stands out clearly itself, and is kept
# (IoU 0.19 when the sheet was taken).
def test_a_card_on_a_sheet_reaching_out_of_view_is_kept() -> None:
    assert_decided_by("_CARD_SURROUND", np.inf, 158, 0.95, busy=True)


# A scene of the evaluation (photos seed 1) where a quad of a card's aspect around the card,
# crossing the frame (the card and the jacket below it), passes the final checks: it is not
# taken for a card holding the card (IoU 0.24 when it was). (That quad stands out from what
# lies around it only a little, so `detect._clearer_elsewhere` would go back to the card: it is
# turned off here.)
def test_a_quad_crossing_the_frame_does_not_hold_the_card(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect

    monkeypatch.setattr(detect, "_WEAK_SURROUND", 0.0)
    assert_found(100114, 0.95, photos=True)
    monkeypatch.setattr(detect, "_HOLDER_MARGIN", -1e9)
    assert scene_iou(100114, photos=True) < 0.5


# Scenes of the evaluation (photo backdrops, 720x1280, seeds 0 and 2) where a quad beside the
# card was found, passing the final checks. It stands out from what lies around it only a
# little (below 0.7), the card clearly more, and the card is taken (`detect._clearer_elsewhere`);
# without that, the other quad. (The code or photo of a card reaching out of view, which this
# rule took before, is taken for the card by `detect._card_around` now. The scenes of this test
# before, a stretch of night sky by a tower, the sky below a card and a panel of a brick wall,
# 100111 and 100205 at 720x1280 and 161 at 768x1024, are no longer found so: the card stands
# out clearly more, and since the best quads are valued by how far they stand out,
# `candidates._STAND_OUT_WEIGHT`, it is found first.)
@pytest.mark.parametrize(("seed", "width", "height"), [(115, H, W), (200109, H, W)])
def test_a_quad_standing_out_a_little_gives_way_to_a_clearer_one(seed: int, width: int,
                                                                  height: int) -> None:
    assert_decided_by("_WEAK_SURROUND", 0.0, seed, 0.95, 0.5, width=width, height=height,
                      photos=True)


# A scene of the evaluation (photo backdrops, seed 3) where a card in a dim frame is found
# standing out little from what lies around it (0.59: a defocused card held in a dim room),
# and its photo or code stands out clearly more from the card: the card holds it, so it is a
# part of the card, not a document elsewhere, and the card is kept
# (`detect._clearer_elsewhere`; IoU 0.10 when the part was taken). (Scene 71 of seed 0, a dark
# card on dark gravel held over the frame's top edge, was decided so too; since the best quads
# are valued by how far they stand out, `candidates._STAND_OUT_WEIGHT`, a stretch of its band
# between two fingers, standing out clearly, is found first and taken (IoU 0.09): a loss of
# that change.)
@pytest.mark.parametrize("seed", [300080])
def test_a_part_of_the_card_found_does_not_take_its_place(seed: int) -> None:
    assert_decided_by("_HOLDER_DEPTH", np.inf, seed, 0.9, photos=True)


# A scene of the evaluation (busy desks, seed 0) where the card found stands out from what lies
# around it only a little, and a plain notebook on the desk stands out clearly more and passes
# the final checks: it shows no print, so it does not take the card's place (IoU 0.00 when it
# did). (Scenes 21 and 87 were decided so, the cards standing out by 0.66 and 0.67, the
# notebooks by 0.85 and 0.98 with 0.031 and 0.023 of their pixels edges. In scene 21 the
# notebook is found first since the best quads are valued by how far they stand out,
# `candidates._STAND_OUT_WEIGHT`, and taken (IoU 0.00): a loss of that change.)
@pytest.mark.parametrize("seed", [87])
def test_a_plain_quad_does_not_take_the_place_of_a_card(seed: int) -> None:
    assert_decided_by("_ELSEWHERE_PRINT", 0.0, seed, 0.85, busy=True)


# Scenes of the evaluation where the card's top and bottom run on in line with the fingers or
# a thing behind it, and its fourth side is hidden: found only where a kind of edge ends (IoU
# 0.00-0.57 without). (The portrait scene is 100258 since a portrait frame's segments may be
# shorter, `lines._SEGMENT_SIDE`: 100183, chosen before, is found without the rule.)
@pytest.mark.parametrize(("seed", "width", "height"), [(100114, W, H), (300188, W, H),
                                                       (100258, H, W)])
def test_a_card_whose_sides_run_on_is_closed_where_one_kind_of_edge_ends(
        seed: int, width: int, height: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents.detect import completion

    assert_found(seed, 0.95, width=width, height=height, photos=True)
    monkeypatch.setattr(completion, "_BY_KIND_BASE", 2.0)
    assert scene_iou(seed, width=width, height=height, photos=True) < 0.7


def _run_stop_by_walking(hit: npt.NDArray[np.bool_], anchor: float, way: float, limit: float,
                         gap: int) -> float:
    """`completion.run_stops` for one line the slow way: step from the anchor's station, at
    most `limit` stations on, bridging gaps."""
    return anchor + way * _walk(hit, round(anchor), round(way), max(2, int(limit)), gap)


def test_run_stops_follow_a_line_either_way_up_to_the_limit() -> None:
    from booth_client.documents.detect.completion import RUN_GAP, run_stops
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.lines import segment_lines
    from booth_client.documents.detect.profiles import profiles

    # The lines of a frame with a card on a desk, and their edges.
    work = prepare(make_scene(88).image)
    lines = segment_lines(work)
    prof = profiles(work, lines, len(lines))
    hit = np.diff(prof.hits, axis=2).max(axis=0) > 0
    rng = np.random.default_rng(3)
    n = 400
    which = rng.integers(0, len(lines), n)
    # Anchors anywhere along the line (never halfway between stations), both ways, limits from
    # none to the whole line.
    anchor = rng.integers(0, hit.shape[1], n) + rng.uniform(-0.4, 0.4, n)
    way = rng.choice([-1.0, 1.0], n)
    limit = rng.uniform(0.0, hit.shape[1], n)
    stops = run_stops(prof, which, anchor, way, limit)
    expected = [_run_stop_by_walking(hit[i], a, d, m, RUN_GAP)
                for i, a, d, m in zip(which, anchor, way, limit, strict=True)]
    assert np.allclose(stops, expected)
    # Some runs end within the limit, some are cut by it, some do not start.
    assert (np.abs(stops - anchor) >= 2).mean() > 0.2
    assert (np.abs(stops - anchor) < 1).mean() > 0.2


def test_run_lengths_stop_at_a_gap_of_four() -> None:
    from booth_client.documents.detect.completion import RUN_GAP, run_lengths

    hit = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1], np.int32)
    hits = np.concatenate([[0], np.cumsum(hit)]).astype(np.int32)[None, None]
    starts = np.arange(12, dtype=np.int64)
    one = np.ones(12, np.int64)
    reach = run_lengths(hits, 0 * one, starts, one, -one, np.full(12, 20, np.int64), RUN_GAP)
    # From station 0 the run bridges the gap of three and ends at 6, where a gap of four ends
    # it; from station 7 on, the gap ahead is three long and the run reaches 11.
    assert (starts + reach).tolist() == [6, 6, 6, 6, 6, 6, 6, 11, 11, 11, 11, 11]


def _card_over_the_right_edge(width: int = 640, height: int = 360,
                              left: float = 400.0) -> tuple[npt.NDArray[np.uint8],
                                                            npt.NDArray[np.float64]]:
    """A pale card on a grey desk, from x = `left` to 400 px further right (past the frame's
    right edge where `left` + 400 > `width`), and its quad."""
    rng = np.random.default_rng(7)
    image = np.clip(rng.normal(90.0, 3.0, (height, width, 3)), 0, 255).astype(np.uint8)
    quad = np.array([[left, 100.0], [left + 400.0, 100.0], [left + 400.0, 300.0],
                     [left, 300.0]])
    cv2.fillConvexPoly(image, np.round(quad).astype(np.int32), (215, 220, 225))
    return cv2.GaussianBlur(image, (0, 0), 1.0), quad


def test_a_side_running_out_of_the_frame_is_judged_on_its_part_in_view() -> None:
    from booth_client.documents.detect.verify import Straight, straight_sides

    # The card's top and bottom run out of the frame at 40 % of their length: seen crisply up
    # to its edge, but with no edge near their far ends. It passes on the parts in view only.
    image, quad = _card_over_the_right_edge()
    assert straight_sides(image, quad) is Straight.IN_VIEW
    # A card wholly in view passes on its whole sides.
    image, quad = _card_over_the_right_edge(left=120.0)
    assert straight_sides(image, quad) is Straight.WHOLE
    # A card over the edge whose sides in view are not straight either (a blank frame there)
    # does not pass at all.
    blank = np.full_like(image, 90)
    assert straight_sides(blank, quad) is None


# Scenes of the evaluation where a card over the frame's edge passed every check but the
# straightness of its sides, whose far stretches are out of view: its photo, its code or a
# strip of it was taken instead (IoU 0.00-0.17). Well seen, it is judged on the parts of its
# sides in view (`detect._FIRM_SCORE`); never so, it is lost again. (100176 in front of the
# photographs is found without it, at 0.95, since the best quads are valued by how far they
# stand out, `candidates._STAND_OUT_WEIGHT`: a quad of the card that passes is found first;
# 300151 takes its place. Where the card's photo is taken first, the card holding it is judged
# on its sides in view as it reaches out of view, `detect._REACHING_IN_VIEW`: turned off here.)
@pytest.mark.parametrize(("seed", "width", "height", "photos"), [
    (88, W, H, False), (100279, W, H, False), (100279, W, H, True), (300151, W, H, True),
    (296, 720, 1280, True)])
def test_a_card_over_the_frame_edge_is_judged_on_its_sides_in_view(
        seed: int, width: int, height: int, photos: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect

    assert_found(seed, 0.9, tag="out_of_frame", width=width, height=height, photos=photos)
    monkeypatch.setattr(detect, "_REACHING_IN_VIEW", False)
    assert_found(seed, 0.9, tag="out_of_frame", width=width, height=height, photos=photos)
    monkeypatch.setattr(detect, "_FIRM_SCORE", 2.0)
    assert scene_iou(seed, width=width, height=height, photos=photos) < 0.5


# Negatives of the evaluation (photo backdrops) where the lines of a room or a desk make a
# large quad reaching out of the frame, seen crisply in part: judged on the parts of its sides
# in view whatever its score, it is detected; only a well-seen outline is judged so. (The
# scenes of this test before, 50012, 50027 and 150036, are no longer: the first two stand out
# too little from what lies around them since `surround.MIN_SURROUND_DISTANCE` is 0.5, and the
# third is not detected even so since the line search groups the 300 longest segments,
# `lines._MAX_SEGMENTS`.)
@pytest.mark.parametrize("seed", [350098, 450032])
def test_only_a_well_seen_quad_is_judged_on_its_sides_in_view(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect
    from booth_client.documents.backdrops import real_photographs

    scene = make_scene(seed, negative=True, backdrops=real_photographs())
    assert detect_document(scene.image) is None
    monkeypatch.setattr(detect, "_FIRM_SCORE", 0.0)
    monkeypatch.setattr(detect, "_FIRM_SIDE", 0.0)
    monkeypatch.setattr(detect, "_FIRM_SURROUND", 0.0)
    assert detect_document(scene.image) is not None


# Scenes of the evaluation (photo backdrops) where a well-seen quad reaching out of the frame
# took in the document and what lies beside it (a launch tower's leg beside a letter over the
# frame's edges, a strip of a brick wall beside a card): judged on the parts of its sides in
# view, it passed before the document. Such a quad must stand out clearly from what lies around
# it (`detect._FIRM_SURROUND`), as a card over the frame's edge does (0.77-0.93). (The card of
# 300165, two sides seen in part, now passes before that quad is judged, as a quad standing out
# clearly may show a second side in part, `verify.PARTLY_SEEN_SIDE`: that is turned off here.)
@pytest.mark.parametrize(("seed", "width", "height"), [(115, 1920, 1080), (300165, W, H)])
def test_a_quad_judged_on_its_sides_in_view_must_stand_out_clearly(
        seed: int, width: int, height: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect

    assert_found(seed, 0.95, width=width, height=height, photos=True)
    monkeypatch.setattr(detect, "PARTLY_SEEN_SIDE", 0.65)
    assert_found(seed, 0.95, width=width, height=height, photos=True)
    monkeypatch.setattr(detect, "_FIRM_SURROUND", 0.0)
    assert 0.0 < scene_iou(seed, width=width, height=height, photos=True) < 0.8


def test_print_share_tells_a_cards_print_from_a_plain_band() -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.verify import print_share

    frame = np.full((H, W, 3), (70, 90, 110), np.uint8)
    corners = np.array([[400.0, 200.0], [900.0, 210.0], [895.0, 520.0], [405.0, 510.0]])
    card = paste_document(frame, render_document("ktp", 3), corners)
    band = frame.copy()
    cv2.fillConvexPoly(band, np.round(corners).astype(np.int32), (230, 230, 230))
    for image, lo, hi in ((card, 0.02, 1.0), (band, 0.0, 0.0)):
        work = prepare(image)
        assert lo <= print_share(work, (corners + 0.5) / work.factor - 0.5) <= hi


# The astronaut photograph scaled to 1600x1200: a white stripe of the flag, between two red
# ones and running out of the frame, is as crisp as a card over the frame's edge and stands out
# wholly from the red around it. Judged on the parts of its sides in view, a quad must also
# show print (`detect._FIRM_PRINT`): the stripe is plain.
def test_a_plain_band_running_out_of_the_frame_is_not_a_card(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from booth_client.documents import detect
    from booth_client.documents.backdrops import PHOTOGRAPHS, real_photographs

    photo = dict(zip(PHOTOGRAPHS, real_photographs(), strict=True))["astronaut"]
    frame = np.asarray(cv2.resize(photo, (1600, 1200), interpolation=cv2.INTER_CUBIC), np.uint8)
    assert detect_document(frame) is None
    monkeypatch.setattr(detect, "_FIRM_PRINT", 0.0)
    assert detect_document(frame) is not None


def test_each_shortlisted_quad_is_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first pass and the selection rules after it ask about the same quads of a search's
    # shortlist: each is judged once, and its verdict is the same as judged afresh.
    from booth_client.documents import detect
    from booth_client.documents.detect.candidates import Candidates, line_candidates
    from booth_client.documents.detect.edges import Work, prepare

    scene = make_scene(7)
    work = prepare(scene.image)
    found = line_candidates(work)
    assert found is not None and len(found.quads) >= 3
    # The card, then two quads that are not a document: the card passes, the others fail.
    truth = (np.asarray(scene.quad) + 0.5) / work.factor - 0.5
    wrong = truth[None] * np.array([0.3, 0.5]) + np.array([[5.0, 5.0], [9.0, 60.0]])[:, None]
    quads = np.concatenate([wrong, found.quads[:1]])
    shortlist = Candidates(quads, np.ones(3), np.zeros(3, np.bool_))
    batches: list[int] = []
    first_passing = detect._first_passing

    def counted(image: npt.NDArray[np.uint8], work: Work, candidates: npt.NDArray[np.float64],
                completed: npt.NDArray[np.bool_]) -> tuple[int, detect.Detection] | None:
        batches.append(len(candidates))
        return first_passing(image, work, candidates, completed)

    monkeypatch.setattr(detect, "_first_passing", counted)
    judge = detect._Judge(scene.image, work, shortlist)
    card = judge.first_passing([0, 1, 2])
    assert card is not None and batches == [3]
    assert quad_iou_in_frame(card.quad, scene.quad, W, H) > 0.9
    assert judge.first_passing([2]) is card and judge.first_passing([1, 0, 2]) is card
    assert judge.first_passing([0]) is None and judge.first_passing([0, 1]) is None
    assert batches == [3]
    fresh = detect._Judge(scene.image, work, shortlist).first_passing([2])
    assert fresh is not None and np.array_equal(fresh.quad, card.quad)
    assert batches == [3, 1]


# Scenes of the evaluation where quads that the line search valued above the card, and that
# stand out little from what lies around them, filled the shortlist (IoU 0.00 before): a quad
# by the fingers holding a KTP up in front of a space suit (photos, seed 3), a dark phone on a
# busy desk beside the card lying on it, and nothing found for a card held over the frame's edge
# (drawn, seed 1). The best quads are valued by how far they stand out from what lies around
# them (`candidates._STAND_OUT_WEIGHT`), and the card is shortlisted and taken.
@pytest.mark.parametrize(("seed", "photos", "busy"), [(300106, True, False), (124, False, True),
                                                      (100176, False, False)])
def test_the_quads_that_stand_out_are_shortlisted_first(seed: int, photos: bool,
                                                         busy: bool) -> None:
    assert_decided_by("candidates._STAND_OUT_WEIGHT", 0.0, seed, 0.95, photos=photos,
                      busy=busy)
