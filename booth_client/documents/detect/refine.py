"""Stage 5, refinement: the candidates are snapped to the edges of the full-resolution frame
(robust line through the outermost edge points along each side); a snapped quad is taken only
while it is still convex and has not moved or changed size much. `edge_samples` also gives the
centres (peaks) of those edges, for the final fit of the quad returned.
"""

from __future__ import annotations

from itertools import combinations
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from numba import njit

from .shape import F64, Mask, areas, stations

_REFINE_SAMPLES: Final = 32
# Where the stations lie along each side, as shares of its length.
STATIONS: Final = stations(0.05, 0.95, _REFINE_SAMPLES)
# The strength of the edge at each station (float32, as the responses are).
Strengths = npt.NDArray[np.float32]
# (A writable copy, as the compiled `_grid` takes it.)
_SHARES: Final = STATIONS.copy()
_PAIR_INDEX: Final = np.array(list(combinations(np.linspace(0, _REFINE_SAMPLES - 1, 12).astype(int),
                                               2)), np.int64)


def edge_points(image: npt.NDArray[np.uint8], quads: F64,
                reach: float) -> tuple[F64, Strengths]:
    """For each side of each quad (K, 4, 2) and evenly spaced stations along it, the outline
    edge crossing the side within +-reach px along its outward normal, all in one remap.
    Returns points (K*4, S, 2) and strengths (K*4, S); strength 0 where nothing was seen."""
    pts, strength, _ = _sampled(image, quads, reach, False)
    return pts, strength


def edge_samples(image: npt.NDArray[np.uint8], quads: F64, reach: float) -> tuple[
        F64, Strengths, F64]:
    """`edge_points`, and also where the outline edge peaks at each station (K*4, S, 2).

    The points of `edge_points` lie where the outline edge's response, read outward, last
    reaches half the strongest one: on its outer flank, which marks the outermost edge and
    does not line up on texture or a curve (what the checks need), but lies outside the
    edge by about the edge's half-width (0.6 px on a sharp edge, 2 px on a blurred one). The
    peaks are that same edge's centre, for the final fit of a quad that passed."""
    pts, strength, peaks = _sampled(image, quads, reach, True)
    return pts, strength, peaks


def _sampled(image: npt.NDArray[np.uint8], quads: F64, reach: float, centres: bool) -> tuple[
        F64, Strengths, F64]:
    """`edge_samples`, the peaks only with `centres` (else the points again)."""
    offsets = np.arange(-reach, reach + 1.0, 1.0)
    base, normal, map_x, map_y = _grid(np.ascontiguousarray(quads, np.float64), _SHARES,
                                       offsets)
    prof = np.asarray(cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE), np.uint8)
    h, w = image.shape[:2]
    strength, outer, centre = _flanks(prof, map_x, map_y, h, w, offsets, centres)
    return _placed(base, normal, outer, centre, strength, h, w, centres)


@njit("Tuple((float64[:, :, ::1], float64[:, ::1], float32[:, ::1], float32[:, ::1]))"
      "(float64[:, :, ::1], float64[::1], float64[::1])", cache=True, nogil=True)
def _grid(quads: F64, t: F64, offsets: F64) -> tuple[F64, F64, npt.NDArray[np.float32],
                                                     npt.NDArray[np.float32]]:
    """The stations along each side of `quads` (K, 4, 2) at shares `t` (S,) of its length
    (K*4, S, 2), the sides' unit normals (K*4, 2; as `shape.side_normals` has them), and the
    sampling grid across each station at `offsets` (O,) along the normal, x and y apart as
    remap takes them (K*4*S, O)."""
    n_rows, n_t, n_off = 4 * len(quads), len(t), len(offsets)
    base = np.empty((n_rows, n_t, 2))
    normal = np.empty((n_rows, 2))
    map_x = np.empty((n_rows * n_t, n_off), np.float32)
    map_y = np.empty((n_rows * n_t, n_off), np.float32)
    for q in range(len(quads)):
        for k in range(4):
            row = 4 * q + k
            ax, ay = quads[q, k, 0], quads[q, k, 1]
            dx, dy = quads[q, (k + 1) % 4, 0] - ax, quads[q, (k + 1) % 4, 1] - ay
            length = max(np.hypot(dx, dy), 1e-9)
            nx, ny = dy / length, -dx / length
            normal[row, 0], normal[row, 1] = nx, ny
            for s in range(n_t):
                bx, by = ax + t[s] * dx, ay + t[s] * dy
                base[row, s, 0], base[row, s, 1] = bx, by
                for o in range(n_off):
                    map_x[row * n_t + s, o] = np.float32(bx + offsets[o] * nx)
                    map_y[row * n_t + s, o] = np.float32(by + offsets[o] * ny)
    return base, normal, map_x, map_y


@njit("Tuple((float64[:, :, ::1], float32[:, ::1], float64[:, :, ::1]))"
      "(float64[:, :, ::1], float64[:, ::1], float64[::1], float64[::1], float32[::1], int64, "
      "int64, boolean)", cache=True, nogil=True)
def _placed(base: F64, normal: F64, outer: F64, centre: F64, strength: npt.NDArray[np.float32],
            h: int, w: int, centres: bool) -> tuple[F64, npt.NDArray[np.float32], F64]:
    """The points `outer` (R*S,) px along each station's normal from `base` (R, S, 2), their
    `strength`, 0 where the point lies within 2 px of the edge of an h x w frame, and the
    peaks `centre` px along it (with `centres`; else the points again)."""
    n_rows, n_t = base.shape[0], base.shape[1]
    pts = np.empty((n_rows, n_t, 2))
    peaks = np.empty((n_rows, n_t, 2))
    seen = np.empty((n_rows, n_t), np.float32)
    for r in range(n_rows):
        for s in range(n_t):
            k = r * n_t + s
            x = base[r, s, 0] + outer[k] * normal[r, 0]
            y = base[r, s, 1] + outer[k] * normal[r, 1]
            pts[r, s, 0], pts[r, s, 1] = x, y
            inside = x > 1 and x < w - 2 and y > 1 and y < h - 2
            seen[r, s] = strength[k] if inside else np.float32(0.0)
            if centres:
                peaks[r, s, 0] = base[r, s, 0] + centre[k] * normal[r, 0]
                peaks[r, s, 1] = base[r, s, 1] + centre[k] * normal[r, 1]
            else:
                peaks[r, s, 0], peaks[r, s, 1] = x, y
    return pts, seen, peaks


@njit(cache=True, nogil=True, inline="always")
def _subpixel(deriv: npt.NDArray[np.float32], k: int, offsets: F64) -> float:
    """The offset along the normal of position `k` of the edge response `deriv` (over
    `offsets[1:-1]`), to a fraction of a pixel: the top of a parabola through the three
    responses around it (in float32, as the responses are), not at the ends."""
    last = len(deriv) - 1
    kc = min(max(k, 1), last - 1)
    left, mid, right = deriv[kc - 1], deriv[kc], deriv[kc + 1]
    denom = left - np.float32(2.0) * mid + right
    sub = np.float32(0.5) * (left - right) / denom if abs(denom) > 1e-6 else np.float32(0.0)
    sub = min(max(sub, np.float32(-0.5)), np.float32(0.5))
    return float(offsets[1 + k]) + (float(sub) if kc == k else 0.0)


@njit("Tuple((float32[:], float64[:], float64[:]))(uint8[:, :, :], float32[:, :], "
      "float32[:, :], int64, int64, float64[:], boolean)", cache=True, nogil=True)
def _flanks(prof: npt.NDArray[np.uint8], map_x: npt.NDArray[np.float32],
            map_y: npt.NDArray[np.float32], h: int, w: int, offsets: F64,
            centres: bool) -> tuple[npt.NDArray[np.float32], F64, F64]:
    """Per row of samples across a side (`prof`, (R, n, channels), read at `map_x`, `map_y`
    in an h x w frame at `offsets` along the normal): the strongest edge response, where the
    outline edge's response, read outward, last reaches half of it (the outer flank), and,
    with `centres`, the top of that edge's response inward from there (else the flank again).

    The response at each offset is the step across two samples summed over the channels,
    halved (0 where either sample lies outside the frame): whole numbers and halves, exact in
    float32."""
    n_rows, n = map_x.shape
    deriv = np.empty(n - 2, np.float32)
    strength = np.empty(n_rows, np.float32)
    outer, centre = np.empty(n_rows), np.empty(n_rows)
    for r in range(n_rows):
        best = np.float32(0.0)
        for i in range(n - 2):
            total = np.int64(0)
            if (0 <= map_x[r, i] <= w - 1 and 0 <= map_y[r, i] <= h - 1
                    and 0 <= map_x[r, i + 2] <= w - 1 and 0 <= map_y[r, i + 2] <= h - 1):
                for c in range(prof.shape[2]):
                    total += abs(np.int64(prof[r, i + 2, c]) - np.int64(prof[r, i, c]))
            deriv[i] = np.float32(total) * np.float32(0.5)
            best = max(best, deriv[i])
        # The outline of a document is its outermost strong edge: printed panels, bands and
        # photo frames just inside it are often stronger, so take the farthest-out position
        # that reaches half the strongest response (the normal of a clockwise quad points
        # outward).
        k = n - 3
        while deriv[k] < np.float32(0.5) * best:
            k -= 1
        strength[r] = best
        outer[r] = _subpixel(deriv, k, offsets)
        if centres:
            # From there inward (down the flank) to the top of that edge's response.
            while k > 0 and deriv[k - 1] > deriv[k]:
                k -= 1
            centre[r] = _subpixel(deriv, k, offsets)
        else:
            centre[r] = outer[r]
    return strength, outer, centre


def robust_lines(pts: F64, usable: npt.NDArray[np.bool_],
                 tolerance: float | F64) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """Per row of points (M, S, 2), the line (a, b, c), a^2 + b^2 = 1, through the largest
    consistent subset of its usable points (a thumb or glare spoils a minority), and the share
    of stations on it and which they are (`consensus`). `tolerance`: how far (px) a point may
    lie off the line, for all rows or per row."""
    share, inlier = consensus(pts, usable, tolerance)
    return fit_lines(pts, inlier.astype(np.float64)), share, inlier


def consensus(pts: F64, usable: npt.NDArray[np.bool_],
              tolerance: float | F64) -> tuple[F64, npt.NDArray[np.bool_]]:
    """`robust_lines` without the lines: per row of points (M, S, 2), the share of stations on
    the line through the largest consistent subset of its usable points, and which they are
    (M, S)."""
    per_row = np.empty(len(pts))
    per_row[:] = np.asarray(tolerance, np.float64).ravel()
    inlier = _consensus(pts, usable, per_row, _PAIR_INDEX)
    return np.asarray(inlier.sum(axis=1) / pts.shape[1], np.float64), inlier


@njit(cache=True, nogil=True, inline="always")
def _through(px: float, py: float, qx: float, qy: float) -> tuple[float, float, float]:
    """The line (a, b, c), a^2 + b^2 = 1, through points p and q."""
    dx, dy = qx - px, qy - py
    norm = max(np.hypot(dx, dy), 1e-9)
    nx, ny = dy / norm, -dx / norm
    return nx, ny, -(nx * px + ny * py)


@njit("boolean[:, :](float64[:, :, :], boolean[:, :], float64[:], int64[:, :])", cache=True,
      nogil=True)
def _consensus(pts: F64, usable: npt.NDArray[np.bool_], tolerance: F64,
               pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Per row of points (M, S, 2), of the lines through the `pairs` (P, 2) of its `usable`
    points, the one most usable points lie within `tolerance` (M,) of (the first such): which
    points those are (M, S). (Where no pair is usable, the line through the first pair.)"""
    n_rows, n_points = usable.shape
    inlier = np.zeros((n_rows, n_points), np.bool_)
    for m in range(n_rows):
        best, most = 0, -1
        for k in range(len(pairs)):
            i, j = pairs[k, 0], pairs[k, 1]
            if not (usable[m, i] and usable[m, j]):
                continue
            nx, ny, c = _through(pts[m, i, 0], pts[m, i, 1], pts[m, j, 0], pts[m, j, 1])
            count = 0
            for t in range(n_points):
                if usable[m, t] and abs(nx * pts[m, t, 0] + ny * pts[m, t, 1] + c) < tolerance[m]:
                    count += 1
            if count > most:
                best, most = k, count
        i, j = pairs[best, 0], pairs[best, 1]
        nx, ny, c = _through(pts[m, i, 0], pts[m, i, 1], pts[m, j, 0], pts[m, j, 1])
        for t in range(n_points):
            inlier[m, t] = (usable[m, t]
                            and abs(nx * pts[m, t, 0] + ny * pts[m, t, 1] + c) < tolerance[m])
    return inlier


def fit_lines(pts: F64, weight: F64) -> F64:
    """Per row of points (M, S, 2) with weights (M, S), the total least squares line (a, b, c),
    a^2 + b^2 = 1: its direction is the principal axis of the weighted points."""
    return _fitted(np.ascontiguousarray(pts, np.float64), np.ascontiguousarray(weight, np.float64))


@njit("float64(float64[::1], int64, int64)", cache=True, nogil=True)
def _pairwise(values: F64, start: int, n: int) -> float:
    """The sum of the `n` `values` from `start` on in numpy's pairwise order (eight running
    sums over blocks of up to 128, halved above that)."""
    if n < 8:
        total = 0.0
        for i in range(n):
            total += values[start + i]
        return float(total)
    if n <= 128:
        r = values[start:start + 8].copy()
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += values[start + i + k]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            total += values[start + i]
            i += 1
        return float(total)
    half = n // 2
    half -= half % 8
    return float(_pairwise(values, start, half) + _pairwise(values, start + half, n - half))


@njit("float64[:, :](float64[:, :, ::1], float64[:, ::1])", cache=True, nogil=True)
def _fitted(pts: F64, weight: F64) -> F64:
    """`fit_lines`, numpy's arithmetic in its order (the sums over each row's points are
    pairwise where numpy reads them contiguously, running where it does not): the
    definition, in numpy, is in `tests/documents/test_refine.py`."""
    n_rows, n = weight.shape
    out = np.empty((n_rows, 3))
    dev_x, dev_y, terms = np.empty(n), np.empty(n), np.empty(n)
    for m in range(n_rows):
        total = max(_pairwise(weight[m], 0, n), 1e-9)
        sum_x, sum_y = 0.0, 0.0
        for k in range(n):
            sum_x += pts[m, k, 0] * weight[m, k]
            sum_y += pts[m, k, 1] * weight[m, k]
        cx, cy = sum_x / total, sum_y / total
        for k in range(n):
            root = np.sqrt(weight[m, k])
            dev_x[k], dev_y[k] = (pts[m, k, 0] - cx) * root, (pts[m, k, 1] - cy) * root
        for k in range(n):
            terms[k] = dev_x[k] * dev_x[k]
        sxx = _pairwise(terms, 0, n)
        for k in range(n):
            terms[k] = dev_y[k] * dev_y[k]
        syy = _pairwise(terms, 0, n)
        for k in range(n):
            terms[k] = dev_x[k] * dev_y[k]
        sxy = _pairwise(terms, 0, n)
        theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
        dx, dy = np.cos(theta), np.sin(theta)
        out[m, 0], out[m, 1], out[m, 2] = dy, -dx, -(dy * cx - dx * cy)
    return out


def refine_many(image: npt.NDArray[np.uint8], quads: F64, reach: float, tolerance: float,
                 found: tuple[F64, Strengths] | None = None) -> tuple[F64, F64, Mask]:
    """Snap each side of each quad (K, 4, 2) to the outline edge near it and intersect
    neighbouring sides. A side with too little evidence (hidden, or outside the frame) keeps
    its current position. Returns quads (K, 4, 2), per-side shares of stations on the line and
    the stations on it (K*4, S). `found`: the quads' `edge_points` at `reach`, when already
    sampled."""
    n = len(quads)
    pts, strength = edge_points(image, quads, reach) if found is None else found
    seen = strength > 0
    counts = np.maximum(seen.sum(axis=1), 1)
    floor = np.where(seen.any(axis=1),
                     np.sort(np.where(seen, strength, np.inf), axis=1)[
                         np.arange(len(strength)), counts // 2], 0.0)
    usable = seen & (strength >= np.maximum(6.0, 0.25 * floor)[:, None])
    lines, share, inlier = robust_lines(pts, usable, tolerance)
    keep = share >= 0.3
    return _meet(quads, lines, keep), np.where(keep, share, 0.0).reshape(n, 4), inlier


def recentred(quad: F64, peaks: F64, inlier: Mask) -> F64:
    """`quad` (4, 2), as `refine_many` fitted it to the outer flank of its edges, fitted to
    their centres instead: each side's line through the edge `peaks` (4, S, 2) of the stations
    its fit kept (`inlier`, (4, S)); a side with fewer than three keeps its line."""
    corners = _meet(quad[None], fit_lines(peaks, inlier.astype(np.float64)),
                    inlier.sum(axis=1) >= 3)
    return np.asarray(corners[0], np.float64)


def _meet(quads: F64, lines: F64, keep: Mask) -> F64:
    """Corners (K, 4, 2) where the new `lines` (K*4, 3) of the sides of `quads` (K, 4, 2)
    meet; a side not to `keep` stays on its current line."""
    return _met(np.asarray(quads, np.float64), np.asarray(lines, np.float64),
                np.asarray(keep, np.bool_))


@njit("float64[:, :, :](float64[:, :, :], float64[:, :], boolean[:])", cache=True, nogil=True)
def _met(quads: F64, lines: F64, keep: Mask) -> F64:
    """`_meet`: each corner where the lines of its two sides meet (homogeneous coordinates'
    cross product), a side's current line through its two corners where not to `keep`; a quad
    two of whose neighbouring sides' lines are parallel (|z| <= 1e-9) as it was."""
    out = np.empty_like(quads)
    sides = np.empty((4, 3))
    for q in range(len(quads)):
        for k in range(4):
            if keep[4 * q + k]:
                sides[k] = lines[4 * q + k]
            else:
                ax, ay = quads[q, k, 0], quads[q, k, 1]
                bx, by = quads[q, (k + 1) % 4, 0], quads[q, (k + 1) % 4, 1]
                sides[k, 0], sides[k, 1], sides[k, 2] = ay - by, bx - ax, ax * by - ay * bx
        met = True
        for k in range(4):
            a, b = sides[(k + 3) % 4], sides[k]
            z = a[0] * b[1] - a[1] * b[0]
            met &= abs(z) > 1e-9
            zs = z if abs(z) > 1e-9 else 1.0
            out[q, k, 0] = (a[1] * b[2] - a[2] * b[1]) / zs
            out[q, k, 1] = (a[2] * b[0] - a[0] * b[2]) / zs
        if not met:
            out[q] = quads[q]
    return out


def accept_many(before: F64, after: F64) -> Mask:
    """Whether refined quads (N, 4, 2) are still sensible: convex, not moved or resized much."""
    return _accepted(np.asarray(before, np.float64), np.asarray(after, np.float64),
                     np.maximum(areas(before), 1e-9), areas(after))


@njit("boolean[:](float64[:, :, :], float64[:, :, :], float64[:], float64[:])", cache=True,
      nogil=True)
def _accepted(before: F64, after: F64, area_before: F64, area_after: F64) -> Mask:
    """`accept_many` of quads `before` and `after` of those areas (the first at least 1e-9):
    every turn of `after` the same way (convex), no corner moved by a quarter of the square
    root of the area before or more, the area changed by a factor from 0.7 to 1.4 (both
    excluded)."""
    out = np.empty(len(before), np.bool_)
    for q in range(len(before)):
        turns_left, turns_right = True, True
        moved = 0.0
        for k in range(4):
            j, m = (k + 1) % 4, (k + 2) % 4
            ex, ey = after[q, j, 0] - after[q, k, 0], after[q, j, 1] - after[q, k, 1]
            fx, fy = after[q, m, 0] - after[q, j, 0], after[q, m, 1] - after[q, j, 1]
            cross = ex * fy - ey * fx
            turns_left &= cross > 0
            turns_right &= cross < 0
            moved = max(moved, np.hypot(after[q, k, 0] - before[q, k, 0],
                                        after[q, k, 1] - before[q, k, 1]))
        ratio = area_after[q] / area_before[q]
        out[q] = ((turns_left or turns_right) and moved < 0.25 * np.sqrt(area_before[q])
                  and 0.7 < ratio < 1.4)
    return out
