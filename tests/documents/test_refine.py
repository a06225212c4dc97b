"""Snapping to edges (`detect.refine`): the compiled consensus of `robust_lines`, the corners
where the snapped sides meet and the acceptance of a snapped quad against their numpy
definitions."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.refine import (
    _PAIR_INDEX,
    _REFINE_SAMPLES,
    STATIONS,
    _flanks,
    _sampled,
    fit_lines,
    robust_lines,
)
from booth_client.documents.detect.shape import F64, areas, side_normals, stacked


def _fit_by_definition(pts: F64, weight: F64) -> F64:
    """`fit_lines` in numpy, its definition (as it was written before it was compiled)."""
    total = np.maximum(weight.sum(axis=1), 1e-9)
    centre = (pts * weight[..., None]).sum(axis=1) / total[:, None]
    dev = (pts - centre[:, None, :]) * np.sqrt(weight)[..., None]
    sxx = (dev[..., 0] ** 2).sum(axis=1)
    syy = (dev[..., 1] ** 2).sum(axis=1)
    sxy = (dev[..., 0] * dev[..., 1]).sum(axis=1)
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    dx, dy = np.cos(theta), np.sin(theta)
    return stacked(dy, -dx, -(dy * centre[:, 0] - dx * centre[:, 1]))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 12),
       stations=st.sampled_from([3, 8, 24, 32, 40, 200]), weights=st.sampled_from(
           ["inliers", "any", "none"]))
def test_the_compiled_line_fit_is_its_definition(seed: int, rows: int, stations: int,
                                                 weights: str) -> None:
    # Points about lines, weighted as inliers (0 or 1), by any weight, or none at all.
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 100, stations)
    angle = rng.uniform(0, np.pi, (rows, 1))
    pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=2)
    pts += rng.uniform(0, 300, (rows, 1, 2)) + rng.normal(0.0, 1.5, (rows, stations, 2))
    weight = {"inliers": (rng.random((rows, stations)) < 0.7).astype(np.float64),
              "any": rng.random((rows, stations)),
              "none": np.zeros((rows, stations))}[weights]
    # The same arithmetic; numpy's trigonometry may differ in its last bit on some CPUs.
    np.testing.assert_allclose(fit_lines(pts, weight), _fit_by_definition(pts, weight),
                               rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 12), noise=st.floats(0.0, 3.0),
       share=st.floats(0.0, 1.0), per_row=st.booleans())
def test_robust_lines_take_the_largest_consistent_subset(seed: int, rows: int, noise: float,
                                                         share: float, per_row: bool) -> None:
    # Points along a line per row, moved across it by up to `noise` px, a share of them
    # thrown far off (a thumb, glare), some not usable.
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 100, 32)
    angle = rng.uniform(0, np.pi, (rows, 1))
    pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=2)
    pts += rng.uniform(0, 300, (rows, 1, 2))
    pts += rng.uniform(-noise, noise, pts.shape)
    off = rng.random((rows, 32)) < 0.3
    pts[off] += rng.uniform(-40, 40, (int(off.sum()), 2))
    usable = rng.random((rows, 32)) < share
    tolerance = rng.uniform(0.5, 3.0, (rows, 1, 1)) if per_row else 1.5
    lines, on_line, inlier = robust_lines(pts, usable, tolerance)
    # By definition: of the lines through the pairs of usable points, the first that most
    # usable points lie within `tolerance` of.
    p, q = pts[:, _PAIR_INDEX[:, 0]], pts[:, _PAIR_INDEX[:, 1]]
    pair_ok = usable[:, _PAIR_INDEX[:, 0]] & usable[:, _PAIR_INDEX[:, 1]]
    d = q - p
    norm = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    nx, ny = d[..., 1] / norm, -d[..., 0] / norm
    c = -(nx * p[..., 0] + ny * p[..., 1])
    resid = np.abs(nx[..., None] * pts[:, None, :, 0] + ny[..., None] * pts[:, None, :, 1]
                   + c[..., None])
    close = (resid < tolerance) & usable[:, None, :]
    best = np.argmax(np.where(pair_ok, close.sum(axis=2), -1), axis=1)
    want = close[np.arange(rows), best]
    assert np.array_equal(inlier, want)
    assert np.array_equal(on_line, want.mean(axis=1))
    assert np.array_equal(lines, fit_lines(pts, want.astype(np.float64)))


def _offset(deriv: np.ndarray, k: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The offsets of positions `k` of the responses `deriv` (R, n) to a fraction of a pixel:
    the top of a parabola through the three responses around (float32), not at the ends."""
    last = deriv.shape[1] - 1
    kc = np.clip(k, 1, last - 1)
    rows = np.arange(len(deriv))
    left, mid, right = deriv[rows, kc - 1], deriv[rows, kc], deriv[rows, kc + 1]
    denom = left - 2 * mid + right
    safe = np.where(np.abs(denom) > 1e-6, denom, 1.0)
    sub = np.where(np.abs(denom) > 1e-6, 0.5 * (left - right) / safe, 0.0)
    sub = np.clip(sub, -0.5, 0.5) * (kc == k)
    return np.asarray(offsets[1:-1][k] + sub, np.float64)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 20), reach=st.integers(3, 8),
       smooth=st.booleans())
def test_edge_flanks_and_centres_are_as_defined(seed: int, rows: int, reach: int,
                                                smooth: bool) -> None:
    from booth_client.documents.detect.refine import _flanks

    # Samples across sides (some reaching out of a 60 x 40 frame), as noise or as steps.
    rng = np.random.default_rng(seed)
    n = 2 * reach + 1
    offsets = np.arange(-reach, reach + 1.0)
    prof = rng.integers(0, 256, (rows, n, 3)).astype(np.uint8)
    if smooth:
        prof = np.sort(prof, axis=1)
    map_x = (rng.uniform(-5, 65, (rows, 1)) + offsets).astype(np.float32)
    map_y = (rng.uniform(-5, 45, (rows, 1)) + 0 * offsets).astype(np.float32)
    strength, outer, centre = _flanks(prof, map_x, map_y, 40, 60, offsets, True)
    # By definition: the response is the step across two samples summed over the channels,
    # halved, 0 where either lies outside the frame; the outer flank is the last position
    # reaching half the strongest, the centre the top of the response inward from there.
    p = prof.astype(np.int16)
    valid = (map_x >= 0) & (map_x <= 59) & (map_y >= 0) & (map_y <= 39)
    deriv = (np.abs(p[:, 2:] - p[:, :-2]).sum(axis=2) * (valid[:, 2:] & valid[:, :-2])).astype(
        np.float32) * np.float32(0.5)
    best = deriv.max(axis=1)
    last = deriv.shape[1] - 1
    k = last - np.argmax((deriv >= 0.5 * best[:, None])[:, ::-1], axis=1)
    peak = k.copy()
    for r in range(rows):
        while peak[r] > 0 and deriv[r, peak[r] - 1] > deriv[r, peak[r]]:
            peak[r] -= 1
    assert np.array_equal(strength, best)
    assert np.array_equal(outer, _offset(deriv, k, offsets))
    assert np.array_equal(centre, _offset(deriv, peak, offsets))
    assert np.array_equal(_flanks(prof, map_x, map_y, 40, 60, offsets, False)[2], outer)


def _meet_by_definition(quads: np.ndarray, lines: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`refine._meet` in numpy: corner k where the lines of sides k - 1 and k meet, a side
    not kept on the line through its corners; a quad with parallel neighbouring sides as it
    was."""
    n = len(quads)
    a = quads.reshape(-1, 2)
    b = quads[:, [1, 2, 3, 0]].reshape(-1, 2)
    current = np.stack([a[:, 1] - b[:, 1], b[:, 0] - a[:, 0],
                        a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)
    lines = np.where(keep[:, None], lines, current).reshape(n, 4, 3)
    prev = lines[:, [3, 0, 1, 2]]
    z = prev[..., 0] * lines[..., 1] - prev[..., 1] * lines[..., 0]
    ok = np.all(np.abs(z) > 1e-9, axis=1)
    zs = np.where(np.abs(z) > 1e-9, z, 1.0)
    corners = np.stack([(prev[..., 1] * lines[..., 2] - prev[..., 2] * lines[..., 1]) / zs,
                        (prev[..., 2] * lines[..., 0] - prev[..., 0] * lines[..., 2]) / zs],
                       axis=2)
    return np.asarray(np.where(ok[:, None, None], corners, quads), np.float64)


def _accepted_by_definition(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """`refine.accept_many` in numpy: convex, no corner moved by a quarter of the square root
    of the area before, the area changed by a factor strictly between 0.7 and 1.4."""
    edge = after[:, [1, 2, 3, 0]] - after
    following = edge[:, [1, 2, 3, 0]]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area_before = np.maximum(areas(before), 1e-9)
    moved = np.hypot(*(after - before).transpose(2, 0, 1)).max(axis=1)
    ratio = areas(after) / area_before
    return np.asarray(convex & (moved < 0.25 * np.sqrt(area_before)) & (ratio > 0.7)
                      & (ratio < 1.4), np.bool_)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), shift=st.floats(0.0, 30.0))
def test_meeting_and_accepting_are_as_defined(seed: int, n: int, shift: float) -> None:
    from booth_client.documents.detect.refine import _meet, accept_many

    rng = np.random.default_rng(seed)
    # Quads about a centre (some crossed or flat), each side's new line through its corners
    # moved by up to `shift` px; some sides kept where they are, some new lines parallel to
    # their neighbour's.
    angle = np.sort(rng.uniform(0, 2 * np.pi, (n, 4)), axis=1)
    mixed = rng.random(n) < 0.2
    angle[mixed] = rng.permuted(angle[mixed], axis=1)
    quads = (np.stack([np.cos(angle), np.sin(angle)], axis=2) * rng.uniform(10, 200, (n, 4, 1))
             + rng.uniform(0, 400, (n, 1, 2)))
    a, b = quads.reshape(-1, 2), quads[:, [1, 2, 3, 0]].reshape(-1, 2) + rng.uniform(
        -shift, shift, (4 * n, 2))
    d = b - a
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    lines = np.stack([d[:, 1] / norm, -d[:, 0] / norm, np.zeros(4 * n)], axis=1)
    lines[:, 2] = -(lines[:, 0] * a[:, 0] + lines[:, 1] * a[:, 1])
    parallel = rng.random(4 * n) < 0.1
    lines[parallel] = np.roll(lines, 1, axis=0)[parallel]
    keep = rng.random(4 * n) < 0.8
    met = _meet(quads, lines, keep)
    assert np.array_equal(met, _meet_by_definition(quads, lines, keep))
    assert np.array_equal(accept_many(quads, met), _accepted_by_definition(quads, met))


def _sampled_by_definition(image: npt.NDArray[np.uint8], quads: F64, reach: float,
                           centres: bool) -> tuple[F64, npt.NDArray[np.float32], F64]:
    """`refine._sampled` in numpy, its definition (as it was written before its grid and
    its points were compiled)."""
    samples = _REFINE_SAMPLES
    a = quads.reshape(-1, 2)
    sides, normals = side_normals(quads)
    d, normal = sides.reshape(-1, 2), normals.reshape(-1, 2)
    rows_n = len(a)
    offsets = np.arange(-reach, reach + 1.0, 1.0)
    base = a[:, None, :] + STATIONS[None, :, None] * d[:, None, :]
    map_x, map_y = (
        (base[:, :, None, i] + offsets[None, None, :] * normal[:, None, None, i]).reshape(
            rows_n * samples, -1).astype(np.float32) for i in (0, 1))
    prof = np.asarray(cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE), np.uint8)
    h, w = image.shape[:2]
    strength, outer, centre = _flanks(prof, map_x, map_y, h, w, offsets, centres)
    pts = base + outer.reshape(rows_n, samples)[..., None] * normal[:, None, :]
    peaks = (base + centre.reshape(rows_n, samples)[..., None] * normal[:, None, :] if centres
             else pts)
    inside = (pts[..., 0] > 1) & (pts[..., 0] < w - 2) & (pts[..., 1] > 1) & (pts[..., 1] < h - 2)
    return pts, np.where(inside, strength.reshape(rows_n, samples), 0.0), peaks


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), reach=st.sampled_from(
    [3.0, 5.0, 8.0, 1.5 * 1280 / 480 + 2.0]), centres=st.booleans())
def test_the_compiled_edge_sampling_is_its_definition(seed: int, n: int, reach: float,
                                                      centres: bool) -> None:
    # Quads about a card drawn on a noisy frame, some reaching out of it.
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(90, 20, (240, 320, 3)), 0, 255).astype(np.uint8)
    cv2.rectangle(image, (60, 50), (250, 180), (220, 200, 160), -1)
    card = np.array([[60.0, 50.0], [250.0, 50.0], [250.0, 180.0], [60.0, 180.0]])
    quads = card[None] + rng.normal(0.0, 3.0, (n, 4, 2)) + rng.choice(
        [0.0, 80.0], (n, 1, 1)) * rng.choice([-1.0, 1.0], (n, 1, 2))
    got = _sampled(image, quads, reach, centres)
    want = _sampled_by_definition(image, quads, reach, centres)
    for g, x in zip(got, want, strict=True):
        assert g.dtype == x.dtype and g.shape == x.shape
        # The same arithmetic (equal here); a CPU whose numpy rounds a hypotenuse otherwise in
        # its last bit may sample a station a hair away.
        np.testing.assert_allclose(g, x, rtol=0, atol=1e-6)
