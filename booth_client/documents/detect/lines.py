"""Stage 1, lines: the straight edges of the shrunk frame as lines.

Edge pixels are grouped by gradient direction (overlapping 45 degree bins) into connected runs,
and a run that is long, thin and does not bow (an arc of 45 degrees along a head, a finger or a
mug is thin enough) is a segment. Segments on one line are merged (their pixel
moments summed, so the line is fitted to all of them). Texture gives short runs of mixed
direction, which never line up into long lines as Hough voting does on a busy desk. The
longest lines are kept (more in a portrait frame), at most a few per direction (ruled paper
must not crowd out a card's sides), and with them a few short ones that close a corner at both
ends (a small card's short sides in a room full of long lines). In a dark frame shorter runs
count, as noise splits its sides; in a portrait frame, shrunk to more pixels than a landscape
one, runs as short as a landscape frame's count, as its documents are no larger.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .edges import Work
from .runs import edge_runs
from .shape import F64

_MAX_LINES: Final = 24
# A portrait frame shows more of the room and the person around a smaller document (it is
# framed by the frame's short side): more of its lines are kept.
_MAX_LINES_PORTRAIT: Final = 32
_DIRECTION_BINS: Final = 8
_MAX_PER_DIRECTION: Final = 8
# The longest segments grouped into lines. A card's side crossing a textured ground (the
# mortar of a brick wall, a suit's folds) is broken into pieces of 10-20 px at 320 px, shorter
# than the texture's own long runs: at 150 those pieces were left out and the side was no line
# (12 evaluation sets, 3,600 scenes with a document: mean IoU sum +16.6 at 300, false
# detections 50 -> 58 of 1,200, the time per frame the same).
_MAX_SEGMENTS: Final = 300

# The long side (px) that a portrait working frame's shortest segment is a share of (see
# `runs_of`): a landscape working frame's (`edges._WORK_LONG_SIDE`). At its own long side
# (440 px) the segments had to be 13.2 px long, not 9.6: on six portrait evaluation sets
# (720x1280 and 768x1024, photo backdrops and busy desks; 1,800 scenes with a document, 600
# without) mean IoU sum +11.8, false detections 59 -> 59, time +3 %. (On three of them, for
# the frames not dark: +6.4 at 320, +5.6 at 267, the 8 px floor, and +2.2 at 373.)
_SEGMENT_SIDE: Final = 320

# The bins of `segment_lines` that the 16 gradient steps fall in: the first binning's (steps
# 15-2, 3-6, ...) and the second's (steps 1-4, 5-8, ...).
_STEP_BINS: Final = (((np.arange(16) + 1) % 16) // 4, ((np.arange(16) - 1) % 16) // 4)

# A run is thin when its spread across its axis (px) is at most this plus a share of its
# length, and straight when it bows away from its chord by at most this plus a share.
_THIN_BASE: Final = 1.5
_THIN_SLOPE: Final = 0.02
_MAX_SAGITTA: Final = 1.0
_SAGITTA_SLOPE: Final = 0.02
# Segments on one line lie within 5 degrees of it.
_SAME_LINE_COS: Final = float(np.cos(np.radians(5.0)))


def segment_lines(work: Work) -> F64:
    """Straight edges as lines (a, b, c), a^2 + b^2 = 1, the longest first.

    Edge pixels are grouped by gradient orientation (8 bins, and again with the bins shifted
    by half a bin) into connected runs; a run that is long and thin and does not bow is a
    straight segment (line through its centroid along its principal axis). Texture makes short
    runs of mixed orientation, so unlike Hough voting it does not line up into false long
    lines."""
    h, w = work.gray.shape
    moments, min_len = runs_of(work)
    if len(moments) == 0:
        return np.zeros((0, 3))
    return _lines_of_runs(moments, min_len, _MAX_LINES_PORTRAIT if h > w else _MAX_LINES)


def runs_of(work: Work) -> tuple[F64, float]:
    """The moments (R, 10) of the runs of edge pixels of `work` at least as long as a segment
    must be (`runs.edge_runs`), and that length (px)."""
    h, w = work.gray.shape
    flat = work.at
    # A share of the working frame's long side; a portrait frame's, shrunk to more pixels
    # than a landscape one's (`edges.PORTRAIT_LONG_SIDE`), counts as `_SEGMENT_SIDE`: its
    # documents are no larger in pixels, framed by its short side, and a small card's sides,
    # broken by fingers or texture, are as short as in a landscape frame.
    # In a dark frame, sensor noise scatters the gradient direction along a faint side and
    # splits it into shorter runs; they still line up and are merged into one line below.
    long = min(h, _SEGMENT_SIDE) if h > w else w
    min_len = max(6.0, 0.02 * long) if work.dark else max(8.0, 0.03 * long)
    if len(flat) < 10:
        return np.zeros((0, 10)), min_len
    ys, xs = np.divmod(flat, w)
    # 8 overlapping bins of 45 degrees, 22.5 degrees apart: an edge wavering a little about
    # its direction stays whole in one of them. Each binning splits the 16 directions into 4
    # bins.
    first, second = _STEP_BINS
    bins = np.stack([first.take(work.steps), second.take(work.steps)])
    # The long runs: the first binning's, then the second's, each in the order of its first
    # pixel.
    return edge_runs(ys, xs, bins, h, w, min_len), min_len

@njit("Tuple((int64[:], int64[:]))(float64[:], float64[:], float64[:], float64[:, :, :], "
      "float64)", cache=True, nogil=True)
def _on_one_line(nx: F64, ny: F64, c: F64, ends: F64,
                 same_cos: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Segments (lines (nx, ny, c) through them, their `ends` (2, N, 2)), longest first,
    grouped by line: each segment not yet in a group leads one, of the segments not yet in
    one that lie on its line (within `same_cos` of its direction, both ends within 2 px of
    it). Returns the leads (G,) and the group of each segment (N,)."""
    n = len(nx)
    group = np.full(n, -1, np.int64)
    leads = np.empty(n, np.int64)
    n_leads = 0
    for i in range(n):
        if group[i] >= 0:
            continue
        leads[n_leads] = i
        for j in range(i, n):
            if (group[j] < 0 and abs(nx[i] * nx[j] + ny[i] * ny[j]) > same_cos
                    and abs(nx[i] * ends[0, j, 0] + ny[i] * ends[0, j, 1] + c[i]) < 2.0
                    and abs(nx[i] * ends[1, j, 0] + ny[i] * ends[1, j, 1] + c[i]) < 2.0):
                group[j] = n_leads
        n_leads += 1
    return leads[:n_leads].copy(), group


_EXTRA_LINES: Final = 8
# Two lines meet at a corner when they cross at 50 degrees or more.
_CORNER_SIN: Final = float(np.sin(np.radians(50.0)))


@njit("boolean[:](int64[:], int64[:], float64[:, :, :], float64[:], float64[:], float64)",
      cache=True, nogil=True)
def _closing_both_ends(lead: npt.NDArray[np.int64], group: npt.NDArray[np.int64], ends: F64,
                       dx: F64, dy: F64, corner_sin: float) -> npt.NDArray[np.bool_]:
    """Which groups of segments (their `lead`s (G,), the `group` of each segment, the
    segments' `ends` (2, N, 2) and directions) meet another group's line at a corner at
    each of their two ends: the lines cross at an angle of sine `corner_sin` or more, within
    2.5 px and 0.12 of the group's stretch along its line of an end of both groups."""
    n = len(lead)
    ux, uy = np.empty(n), np.empty(n)
    for g in range(n):
        ux[g], uy[g] = dx[lead[g]], dy[lead[g]]
    # The stretch of each group along its lead's direction (every group has its lead).
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    for k in range(len(group)):
        g = group[k]
        t0 = ends[0, k, 0] * ux[g] + ends[0, k, 1] * uy[g]
        t1 = ends[1, k, 0] * ux[g] + ends[1, k, 1] * uy[g]
        lo[g] = min(lo[g], min(t0, t1))
        hi[g] = max(hi[g], max(t0, t1))
    # A point on each lead's line, and the group's two ends on it.
    cx, cy = np.empty(n), np.empty(n)
    x0, y0, x1, y1 = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    reach = np.empty(n)
    for g in range(n):
        cx[g] = (ends[0, lead[g], 0] + ends[1, lead[g], 0]) / 2
        cy[g] = (ends[0, lead[g], 1] + ends[1, lead[g], 1]) / 2
        tc = cx[g] * ux[g] + cy[g] * uy[g]
        x0[g], y0[g] = cx[g] + (lo[g] - tc) * ux[g], cy[g] + (lo[g] - tc) * uy[g]
        x1[g], y1[g] = cx[g] + (hi[g] - tc) * ux[g], cy[g] + (hi[g] - tc) * uy[g]
        reach[g] = 2.5 + 0.12 * (hi[g] - lo[g])
    # How far from its point (cx, cy) each group's ends lie, and a corner near them may.
    far = np.empty(n)
    for g in range(n):
        tc = cx[g] * ux[g] + cy[g] * uy[g]
        far[g] = max(abs(lo[g] - tc), abs(hi[g] - tc)) + reach[g] + 1e-3
    # close[i, j]: lines i and j meet steeply near an end of group i; first[i, j]: its first.
    close = np.zeros((n, n), np.bool_)
    first = np.zeros((n, n), np.bool_)
    for i in range(n):
        for j in range(n):
            cross = ux[i] * uy[j] - uy[i] * ux[j]
            if not abs(cross) > corner_sin:
                continue
            # p_i + s u_i = p_j + r u_j  ->  s = ((p_j - p_i) x u_j) / (u_i x u_j); the
            # numerator is p_i's distance from line j: where that is farther than group i's
            # ends and their reach, the lines meet far from them.
            along = (cx[j] - cx[i]) * uy[j] - (cy[j] - cy[i]) * ux[j]
            if abs(along) > far[i]:
                continue
            s = along / cross
            mx, my = cx[i] + s * ux[i], cy[i] + s * uy[i]
            near0 = np.hypot(mx - x0[i], my - y0[i])
            near1 = np.hypot(mx - x1[i], my - y1[i])
            close[i, j] = min(near0, near1) < reach[i]
            first[i, j] = near0 <= near1
    # A corner: the lines meet at an end of both groups; each end of a group must close one.
    at_first, at_second = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    for i in range(n):
        for j in range(n):
            if close[i, j] and close[j, i]:
                if first[i, j]:
                    at_first[i] = True
                else:
                    at_second[i] = True
    return at_first & at_second


@njit(cache=True, nogil=True, inline="always")
def _at_least(value: float, floor: float) -> float:
    """`np.maximum(value, floor)` of two floats (NaN kept)."""
    return value if value >= floor or value != value else floor


@njit("float64[:, :](float64[:, :], float64, int64)", cache=True, nogil=True)
def _lines_of_runs(moments: F64, min_len: float, max_lines: int) -> F64:
    """`segment_lines` from the runs' `moments` (R, 10) on: the runs at least `min_len` long,
    thin and not bowed, are segments; the longest `_MAX_SEGMENTS` are grouped by line
    (`_on_one_line`); of the groups, the longest `max_lines` (at most `_MAX_PER_DIRECTION` of
    a direction) and the longest `_EXTRA_LINES` of the others closing a corner at both ends
    (`_closing_both_ends`: a small card's short sides, outweighed by long lines of the room)
    are each fitted to all of their pixels. (Numpy's arithmetic, in its order, in one pass:
    the definition, in numpy, is in `tests/documents/test_lines.py`.)"""
    n_runs = len(moments)
    # Per run: whether it is a straight segment, and the segment (centre, direction, length,
    # and its moments up to the second).
    seg = np.empty((n_runs, 11))
    n_seg = 0
    for i in range(n_runs):
        # (The columns of `runs.edge_runs`: the count, then the sums of x, y, x^2, ...)
        m = moments[i, 0]
        sx, sy = moments[i, 1], moments[i, 2]
        sxx, syy, sxy = moments[i, 3], moments[i, 4], moments[i, 5]
        cx, cy = sx / m, sy / m
        vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
        half = np.sqrt(_at_least((vxx - vyy) * (vxx - vyy) / 4 + vxy * vxy, 0.0))
        major = (vxx + vyy) / 2 + half
        minor = _at_least((vxx + vyy) / 2 - half, 0.0)
        phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
        length = np.sqrt(12.0 * major)
        if not (length >= min_len and np.sqrt(minor) <= _THIN_BASE + _THIN_SLOPE * length):
            continue
        # ... and not bowed: how far it bows away from its chord (px) is the quadratic term
        # across its principal axis, from its third moments. A straight edge bows next to
        # nothing; an arc of a head, a finger or a mug bows by about r (1 - cos(a/2)) over an
        # angle a of radius r. The central third moments, from the raw means about the
        # centroid:
        exx, eyy, exy = sxx / m, syy / m, sxy / m
        t0, t1 = moments[i, 6] / m, moments[i, 7] / m
        t2, t3 = moments[i, 8] / m, moments[i, 9] / m
        m30 = t0 - 3 * cx * exx + 2 * math.pow(cx, 3.0)
        m03 = t1 - 3 * cy * eyy + 2 * math.pow(cy, 3.0)
        m21 = t2 - 2 * cx * exy - cy * exx + 2 * cx * cx * cy
        m12 = t3 - 2 * cy * exy - cx * eyy + 2 * cx * cy * cy
        # E[v u^2] with u along the run and v across it; v = k (u^2 - E[u^2]) over u spread
        # evenly along the length L: k = E[v u^2] / (L^4 / 180), and the bow at the middle is
        # k L^2 / 4.
        c, s = np.cos(phi), np.sin(phi)
        vuu = (-m30 * c * c * s + m21 * (math.pow(c, 3.0) - 2 * c * s * s)
               + m12 * (2 * c * c * s - math.pow(s, 3.0)) + m03 * s * s * c)
        longest = _at_least(length, 1e-9)
        bow = 45.0 * vuu / (longest * longest)
        if not abs(bow) <= _MAX_SAGITTA + _SAGITTA_SLOPE * length:
            continue
        seg[n_seg, 0], seg[n_seg, 1], seg[n_seg, 2], seg[n_seg, 3] = cx, cy, c, s
        seg[n_seg, 4], seg[n_seg, 5], seg[n_seg, 6], seg[n_seg, 7] = length, m, sx, sy
        seg[n_seg, 8], seg[n_seg, 9], seg[n_seg, 10] = sxx, syy, sxy
        n_seg += 1
    if n_seg == 0:
        return np.zeros((0, 3))
    # The longest segments, longest first (ties in run order).
    by_length = np.argsort(-seg[:n_seg, 4], kind="mergesort")[:_MAX_SEGMENTS]
    seg = seg[by_length]
    n_seg = len(seg)
    dx, dy = seg[:, 2].copy(), seg[:, 3].copy()
    nx, ny, c_line = np.empty(n_seg), np.empty(n_seg), np.empty(n_seg)
    ends = np.empty((2, n_seg, 2))
    for k in range(n_seg):
        cx, cy, length = seg[k, 0], seg[k, 1], seg[k, 4]
        nx[k], ny[k] = dy[k], -dx[k]
        c_line[k] = -(nx[k] * cx + ny[k] * cy)
        ends[0, k, 0], ends[0, k, 1] = cx - dx[k] * length / 2, cy - dy[k] * length / 2
        ends[1, k, 0], ends[1, k, 1] = cx + dx[k] * length / 2, cy + dy[k] * length / 2
    # Greedy grouping, longest first: a segment still free leads a group of the free segments
    # on its line (within 5 degrees of it, both ends within 2 px of it).
    leads, group = _on_one_line(nx, ny, c_line, ends, _SAME_LINE_COS)
    n_groups = len(leads)
    weights = np.zeros(n_groups)
    for k in range(n_seg):
        weights[group[k]] += seg[k, 4]
    order = np.argsort(-weights, kind="mergesort")
    # The longest lines, but at most `_MAX_PER_DIRECTION` of a direction: ruled paper, blinds
    # or a keyboard give many long parallel lines that would crowd out a document's other pair
    # of sides.
    in_bin = np.zeros(_DIRECTION_BINS, np.int64)
    chosen = np.empty(n_groups, np.int64)
    n_chosen = 0
    for k in range(n_groups):
        lead = leads[order[k]]
        direction = (np.arctan2(dy[lead], dx[lead]) % np.pi) // (np.pi / _DIRECTION_BINS)
        # (A direction rounded up to a whole half turn falls in no bin, as in the numpy form.)
        rank, b = -1, int(direction)
        if 0 <= b < _DIRECTION_BINS:
            rank = in_bin[b]
            in_bin[b] += 1
        if rank < _MAX_PER_DIRECTION and n_chosen < max_lines:
            chosen[n_chosen] = order[k]
            n_chosen += 1
    # With them, the short ones closing a corner at both ends.
    extra = np.zeros(0, np.int64)
    if n_groups >= 3:
        both = _closing_both_ends(leads, group, ends, dx, dy, _CORNER_SIN)
        both[chosen[:n_chosen]] = False
        extra = np.flatnonzero(both)
        extra = extra[np.argsort(-weights[extra], kind="mergesort")][:_EXTRA_LINES]
    # One line through all pixels of a group: its moments are the sums of its members'. (The
    # two orientation binnings count a pixel twice; that does not move the fit.)
    sums = np.zeros((n_groups, 6))
    for k in range(n_seg):
        for j in range(6):
            sums[group[k], j] += seg[k, 5 + j]
    picked = np.concatenate((chosen[:n_chosen], extra))
    lines = np.empty((len(picked), 3))
    for k in range(len(picked)):
        m, sx, sy = sums[picked[k], 0], sums[picked[k], 1], sums[picked[k], 2]
        sxx, syy, sxy = sums[picked[k], 3], sums[picked[k], 4], sums[picked[k], 5]
        cx, cy = sx / m, sy / m
        vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
        phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
        lines[k, 0], lines[k, 1] = np.sin(phi), -np.cos(phi)
        lines[k, 2] = -(lines[k, 0] * cx + lines[k, 1] * cy)
    return lines
