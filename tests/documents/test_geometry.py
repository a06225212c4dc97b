from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.geometry import (
    is_convex,
    order_corners,
    polygon_iou,
    quad_iou_in_frame,
    signed_area,
)

coords = st.floats(min_value=-2000, max_value=2000, allow_nan=False, allow_infinity=False)


@st.composite
def convex_quads(draw: st.DrawFn) -> np.ndarray:
    cx, cy = draw(coords), draw(coords)
    w = draw(st.floats(20, 800))
    h = draw(st.floats(20, 800))
    angle = draw(st.floats(0, 2 * np.pi))
    jitter = np.array(draw(st.lists(st.floats(-0.2, 0.2), min_size=8, max_size=8))).reshape(4, 2)
    base = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) + jitter * 0.5
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (base * [w, h]) @ rot.T + [cx, cy]
    order = draw(st.permutations(range(4)))
    return np.asarray(pts[list(order)], np.float64)


def test_axis_aligned_rectangle_order() -> None:
    pts = np.array([[10, 50], [10, 10], [90, 50], [90, 10]], np.float32)
    assert order_corners(pts).tolist() == [[10, 10], [90, 10], [90, 50], [10, 50]]


@settings(max_examples=200, deadline=None)
@given(convex_quads())
def test_order_is_a_clockwise_permutation_starting_top_left(quad: np.ndarray) -> None:
    ordered = order_corners(quad)
    assert sorted(map(tuple, np.round(ordered, 2).tolist())) == sorted(
        map(tuple, np.round(quad.astype(np.float32), 2).tolist()))
    assert is_convex(ordered)
    assert signed_area(ordered) > 0
    sums = ordered[:, 0] + ordered[:, 1]
    assert sums[0] <= sums.min() + 1e-3


@settings(max_examples=100, deadline=None)
@given(convex_quads())
def test_order_is_idempotent_and_input_order_free(quad: np.ndarray) -> None:
    once = order_corners(quad)
    assert np.array_equal(order_corners(once), once)
    assert np.array_equal(order_corners(quad[::-1]), once)


def test_iou_identity_disjoint_and_half() -> None:
    a = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float32)
    assert polygon_iou(a, a) == 1.0
    assert polygon_iou(a, a + 100) == 0.0
    half = np.array([[0, 0], [5, 0], [5, 10], [0, 10]], np.float32)
    assert abs(polygon_iou(a, half) - 0.5) < 1e-6


def test_iou_in_frame_clips_what_the_camera_cannot_see() -> None:
    truth = np.array([[-100, 100], [300, 100], [300, 300], [-100, 300]], np.float32)
    visible_only = np.array([[0, 100], [300, 100], [300, 300], [0, 300]], np.float32)
    assert abs(quad_iou_in_frame(visible_only, truth, 640, 480) - 1.0) < 1e-6
    assert polygon_iou(visible_only, truth) < 0.8


def test_iou_never_exceeds_one_with_collinear_clipped_vertices() -> None:
    # cv2.intersectConvexConvex returned the whole truth for this pair (a clipped vertex at
    # y = -7e-15), which made the IoU 7.4.
    pred = np.array([[718.68, 28.45], [984.91, -9.46], [985.79, 204.86], [730.95, 218.22]])
    truth = np.array([[555.0, -41.0], [1145.0, -63.0], [1127.0, 748.0], [637.0, 783.0]])
    iou = quad_iou_in_frame(pred, truth, 1280, 720)
    assert 0.0 < iou < 0.2


@settings(max_examples=100, deadline=None)
@given(convex_quads(), convex_quads())
def test_iou_is_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    qa, qb = order_corners(a), order_corners(b)
    iou = polygon_iou(qa, qb)
    assert 0.0 <= iou <= 1.0
    assert abs(iou - polygon_iou(qb, qa)) < 1e-6


def _clipped_by_definition(subject: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman with numpy per window side, as `geometry._clip_convex` clips."""
    orient = 1.0 if signed_area(window) >= 0 else -1.0
    out = subject
    for a, b in zip(window, np.roll(window, -1, axis=0), strict=True):
        if len(out) == 0:
            break
        edge = b - a
        side = orient * (edge[0] * (out[:, 1] - a[1]) - edge[1] * (out[:, 0] - a[0]))
        kept: list[np.ndarray] = []
        for p, q, sp, sq in zip(out, np.roll(out, -1, axis=0), side, np.roll(side, -1),
                                strict=True):
            if sp >= 0:
                kept.append(p)
            if (sp >= 0) != (sq >= 0):
                kept.append(p + (q - p) * (sp / (sp - sq)))
        out = np.array(kept, np.float64).reshape(-1, 2)
    return out


@settings(max_examples=100, deadline=None)
@given(convex_quads(), convex_quads(), st.integers(1, 3000), st.integers(1, 3000))
def test_the_compiled_clip_and_iou_are_their_definitions(a: np.ndarray, b: np.ndarray,
                                                          width: int, height: int) -> None:
    from booth_client.documents.geometry import _clip_convex, clip_to_frame

    qa, qb = order_corners(a).astype(np.float64), order_corners(b).astype(np.float64)
    clipped = _clipped_by_definition(qa, qb)
    assert np.array_equal(_clip_convex(qa, qb), clipped)
    area = abs(signed_area(clipped)) if len(clipped) >= 3 else 0.0
    union = abs(signed_area(qa)) + abs(signed_area(qb)) - area
    assert abs(polygon_iou(qa, qb) - (min(1.0, area / union) if union > 0 else 0.0)) < 1e-12
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    in_frame = _clipped_by_definition(qa, frame)
    if len(in_frame) >= 3 and abs(signed_area(in_frame)) > 0:
        assert np.array_equal(clip_to_frame(qa, width, height), in_frame.astype(np.float32))
