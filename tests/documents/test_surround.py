"""A document stands out from what lies around it (`detect.surround`): a quad on a brick wall,
gravel, grass or coins does not, a card at the same place does, in a bright frame and in a dim,
colour-cast one."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from booth_client.documents import detect_document
from booth_client.documents.backdrops import PHOTOGRAPHS, real_photographs
from booth_client.documents.detect.edges import Work, prepare
from booth_client.documents.detect.shape import F64
from booth_client.documents.detect.surround import (
    _BINS,
    _INSET,
    _MIN_PIXELS,
    _RING,
    MIN_SURROUND_DISTANCE,
    _around,
    colour_codes,
    stands_out,
    surround_distance,
    surround_distances,
)
from booth_client.documents.geometry import quad_iou_in_frame
from booth_client.documents.synthetic import make_scene, paste_document
from booth_client.documents.templates import render_document

W, H = 1280, 720
_CARD = np.array([[420.0, 180.0], [860.0, 200.0], [850.0, 470.0], [410.0, 455.0]])


def _photo(name: str) -> npt.NDArray[np.uint8]:
    """One of the real photographs, scaled to a camera frame."""
    photo = real_photographs()[PHOTOGRAPHS.index(name)]
    return np.asarray(cv2.resize(photo, (W, H), interpolation=cv2.INTER_CUBIC), np.uint8)


def _dim_and_green(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The frame in a dim room under a green cast, with the sensor's noise."""
    rng = np.random.default_rng(4)
    dim = frame.astype(np.float32) * np.array([0.18, 0.3, 0.15], np.float32)
    return np.asarray(np.clip(dim + rng.normal(0, 3, dim.shape), 0, 255), np.uint8)


def _distance(frame: npt.NDArray[np.uint8], quad: npt.NDArray[np.float64]) -> float | None:
    work = prepare(frame)
    return surround_distance(work, (quad + 0.5) / work.factor - 0.5)


@pytest.mark.parametrize("dim", [False, True])
@pytest.mark.parametrize("name", ["brick", "gravel", "grass", "coins"])
def test_a_quad_on_one_texture_does_not_stand_out(name: str, dim: bool) -> None:
    # Wherever a quad lies on a wall, a path or a lawn, the same mix of colours is inside it
    # and around it (measured 0.04-0.33).
    frame = _photo(name)
    distance = _distance(_dim_and_green(frame) if dim else frame, _CARD)
    assert distance is not None and distance < MIN_SURROUND_DISTANCE


@pytest.mark.parametrize("dim", [False, True])
@pytest.mark.parametrize("kind", ["ktp", "kpj"])
@pytest.mark.parametrize("name", ["brick", "gravel", "grass", "coins"])
def test_a_card_on_the_same_texture_stands_out(name: str, kind: str, dim: bool) -> None:
    # The card at the same place (measured 0.74-0.93), in a dim green frame too: the colours
    # are binned by the frame's own quantiles.
    frame = paste_document(_photo(name), render_document(kind, 2), _CARD)
    distance = _distance(_dim_and_green(frame) if dim else frame, _CARD)
    assert distance is not None and distance >= MIN_SURROUND_DISTANCE + 0.2


@pytest.mark.parametrize("dim", [False, True])
@pytest.mark.parametrize("name", ["gravel", "grass"])
def test_a_card_on_gravel_or_grass_is_found(name: str, dim: bool) -> None:
    frame = paste_document(_photo(name), render_document("ktp", 2), _CARD)
    quad = detect_document(_dim_and_green(frame) if dim else frame)
    assert quad is not None
    assert quad_iou_in_frame(quad, _CARD, W, H) >= 0.9


def test_a_quad_mostly_outside_the_frame_is_not_judged() -> None:
    work = prepare(_photo("brick"))
    # Only a corner of it lies in the frame: too little inside it to compare.
    sliver = np.array([[-200.0, -100.0], [2.0, -100.0], [2.0, 4.0], [-200.0, 4.0]])
    assert surround_distance(work, sliver) is None
    assert stands_out(surround_distance(work, sliver))


# Negatives of evaluation seeds 0 and 1 in front of the real photographs (brick walls): a
# quad of the wall's joints was returned, every side straight, supported and with a step
# across it (a brick against its mortar); none now.
@pytest.mark.parametrize("seed", [50005, 50007, 50027, 150045, 150088, 150100])
def test_no_document_is_made_of_a_brick_wall(seed: int) -> None:
    scene = make_scene(seed, negative=True, backdrops=real_photographs())
    assert detect_document(scene.image) is None


# Cards in dim frames under a strong colour cast, found before and still: with fixed colour
# bins their inside and their ring fall into the same few dark bins (the frame's quantiles
# spread them).
@pytest.mark.parametrize("seed", [27, 200216])
def test_a_card_in_a_dim_colour_cast_frame_still_stands_out(seed: int) -> None:
    scene = make_scene(seed, backdrops=real_photographs())
    assert scene.quad is not None
    quad = detect_document(scene.image)
    assert quad is not None
    assert quad_iou_in_frame(quad, scene.quad, W, H) >= 0.9


def test_a_card_on_a_plain_desk_stands_out() -> None:
    # Most of the frame is one colour, whose value holds all of the frame's quantiles: it
    # keeps a bin of its own, so the card's pale ground is not binned with the desk (binned
    # with it, the card measured 0.23).
    card = np.array([[500.0, 250.0], [800.0, 260.0], [795.0, 440.0], [495.0, 430.0]])
    desk = np.full((H, W, 3), (70, 90, 110), np.uint8)
    frame = paste_document(desk, render_document("ktp", 3), card)
    distance = _distance(frame, card)
    assert distance is not None and distance >= MIN_SURROUND_DISTANCE + 0.3


def _binned_by_lookup(bgr: npt.NDArray[np.uint8], bins: int) -> npt.NDArray[np.int32]:
    """The definition of `colour_codes`: per channel, the value at each of the frame's
    quantiles (`np.searchsorted` on its cumulative histogram), a look-up of the bin of each
    value past them, applied with `cv2.LUT`."""
    quantiles = np.arange(1, bins) * (bgr.shape[0] * bgr.shape[1] / bins)
    lookup = np.empty((1, 256, 3), np.uint8)
    for channel in range(3):
        counts = cv2.calcHist([bgr], [channel], None, [256], [0, 256]).ravel()
        edges = np.searchsorted(np.cumsum(counts), quantiles, side="left")
        lookup[0, :, channel] = np.searchsorted(edges, np.arange(256), side="left")
    binned = np.asarray(cv2.LUT(bgr, lookup), np.uint8).astype(np.int32)
    return np.asarray((binned[..., 0] * bins + binned[..., 1]) * bins + binned[..., 2], np.int32)


@pytest.mark.parametrize("bins", [4, 8])
def test_the_compiled_colour_bins_are_their_definition(bins: int) -> None:
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8),
              # A plain desk with a card: one value holds several quantiles.
              np.full((90, 160, 3), (70, 90, 110), np.uint8),
              np.ascontiguousarray(_dim_and_green(_photo("gravel"))[::8, ::8])]
    frames[1][30:60, 50:110] = (235, 230, 225)
    for frame in frames:
        assert np.array_equal(colour_codes(frame, bins), _binned_by_lookup(frame, bins))


def test_the_distances_for_ranking_are_close_to_the_final_check() -> None:
    # Quads around and near the documents of photo-backdrop scenes, and around a patch of the
    # backdrop: the ranking's measure follows `surround_distance` (a coarser grid on large
    # quads, four bins a channel: the two agree in order, not in value).
    rng = np.random.default_rng(5)
    finals, ranks = [], []
    for seed in range(12):
        scene = make_scene(seed, backdrops=real_photographs())
        assert scene.quad is not None
        work = prepare(scene.image)
        truth = (np.asarray(scene.quad, np.float64) + 0.5) / work.factor - 0.5
        quads = np.stack([truth + rng.normal(0.0, 6.0, (4, 2)) * (k > 0) for k in range(8)]
                         + [_CARD / work.factor + rng.normal(0.0, 2.0, (4, 2))])
        for quad, rank in zip(quads, surround_distances(work, quads), strict=True):
            final = surround_distance(work, quad)
            assert (final is None) == bool(np.isnan(rank))
            if final is not None:
                finals.append(final)
                ranks.append(rank)
    assert len(finals) >= 90
    assert float(np.corrcoef(finals, ranks)[0, 1]) >= 0.85


def test_a_quad_mostly_outside_the_frame_is_not_ranked() -> None:
    work = prepare(_photo("brick"))
    sliver = np.array([[-200.0, -100.0], [2.0, -100.0], [2.0, 4.0], [-200.0, 4.0]])
    inside = (_CARD + 0.5) / work.factor - 0.5
    ranks = surround_distances(work, np.stack([sliver, inside, inside[::-1]]))
    assert np.isnan(ranks[0])
    # Either winding.
    assert ranks[1] == ranks[2] and ranks[1] < MIN_SURROUND_DISTANCE


def _surround_by_definition(work: Work, quad: F64) -> float | None:
    """`surround_distance` in numpy and OpenCV, its definition (as it was written before its
    histograms were compiled): over the box `_around` the quad, the inside and the ring as
    masks, their colour histograms by `cv2.calcHist`."""
    around = _around(work, quad)
    if around is None:
        return None
    codes, depth, away = around
    inset, (near, far) = _INSET / 2, (_RING[0] / 2, _RING[1] / 2)
    inside = (depth > inset).view(np.uint8)
    ring = ((away > near) & (away <= far)).view(np.uint8)
    if cv2.countNonZero(inside) < _MIN_PIXELS or cv2.countNonZero(ring) < _MIN_PIXELS:
        return None
    within, outside = (np.asarray(cv2.calcHist([codes.astype(np.uint16)], [0], mask,
                                                [_BINS ** 3], [0, _BINS ** 3]), np.float64)
                       for mask in (inside, ring))
    overlap = np.sqrt(within / within.sum() * outside / outside.sum()).sum()
    return float(np.sqrt(max(0.0, 1.0 - overlap)))


def test_the_compiled_surround_distance_is_its_definition() -> None:
    # Quads around, near and inside the documents of photo-backdrop scenes (landscape and
    # portrait, some dim), over the frame's edge and mostly outside it.
    rng = np.random.default_rng(8)
    judged = 0
    for seed, width, height in [(k, W, H) for k in range(10)] + [(21, H, W), (400012, W, H)]:
        scene = make_scene(seed, width, height, backdrops=real_photographs())
        assert scene.quad is not None
        work = prepare(scene.image)
        truth = (np.asarray(scene.quad, np.float64) + 0.5) / work.factor - 0.5
        h, w = work.gray.shape
        for k in range(12):
            quad = truth + rng.normal(0.0, 8.0, (4, 2)) * (k > 0)
            if k % 4 == 3:
                quad = quad + rng.choice([-1.0, 1.0], 2) * (w, h) * 0.4
            want = _surround_by_definition(work, quad)
            assert surround_distance(work, quad) == want
            judged += want is not None
    assert judged >= 100
