"""Stage 3, completions: a document's fourth side where the line search found three.

A card on gravel, grass or a busy jacket often shows three sides as lines and not the fourth:
its edge pixels there touch the texture's and the run they make is neither thin nor straight,
or fingers cut it into pieces too short to rank among the frame's lines, or it is pale on a
pale ground. Its other three sides still say where it is: two roughly parallel lines (a, c)
and a line b meeting both, whose edges run along a and c away from b and end together where
the card ends. The line through those two ends closes the quad (a, b, c, d).

Those quads are valued with the others (`candidates`), their fourth side by the edges along
it, however faint; the closing line is evidence of its own quad only (it is never taken for
the outline beyond another quad's band). One is taken only where two of its sides are well
supported once snapped (`detect._first_passing`): the U's that a textured scene closes run
along edges each seen only in part. An arm ending at the frame's edge ends there because the
frame does: the frame border closes that quad already, as one reaching out of view. Where the
arms do not match, a finger held across one may have cut its run short: it is followed again
over wider gaps (`_FINGER_GAP`).

Where an arm's edges run on in line with it past the card's end (fingers holding it, a thing
behind it), the runs of every kind of edge end too far; the runs of one kind alone (grey or
saturation, one polarity: the card against its ground) end where the card does.
A U is closed there too, where the runs of every kind end inside the frame.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .profiles import STEP, Profiles
from .quads import plausible_many, shaped
from .shape import F64, Mask, areas, aspect_errors, order_many, stacked

# Gaps of up to this many stations are bridged along a run (fingers over a side, a rounded
# corner); `candidates` follows runs so too.
RUN_GAP: Final = 3
# A side of the U meets its base at this angle or more (sine).
_MIN_CORNER_SIN: Final = float(np.sin(np.radians(55.0)))
# The base b is supported between a and c at least this much (as a quad's side must be).
_MIN_BASE_SUPPORT: Final = 0.55
# Each arm runs at least this share of the base's length, and the two arms differ in length by
# at most this factor (opposite sides of a document in perspective).
_MIN_ARM: Final = 0.3
_MAX_ARM_RATIO: Final = 1.6
# A U is also closed where the runs of one kind of edge end (`_closed_us`) only where its base is
# supported this well (a card's side).
_BY_KIND_BASE: Final = 0.8
# The closing line lies within this angle of the base (perspective).
_MAX_TILT_COS: Final = float(np.cos(np.radians(25.0)))
# The gaps (stations) bridged along arms that do not match (`completions`): a finger across a
# card's side, 16 px of the working frame, cuts its run by more than `RUN_GAP`.
_FINGER_GAP: Final = 8
# At most this many completions (the best valued first, `completions`), differing by more than
# this much at some corner (px). (At 6, a card's U was passed over for those the lines of what
# lies around it close, valued more for their size or their base: 10 finds 6 more cards on 14
# evaluation sets, 4,200 scenes with a document, and 3 on four others, none lost, false
# detections unchanged, at 0.6-0.9 % more time a frame.)
MAX_COMPLETIONS: Final = 10
_DISTINCT: Final = 3.0


@njit(cache=True, nogil=True, inline="always")
def _run_length(hits: npt.NDArray[np.int32], line: int, start: int, step: int, kind: int,
                limit: int, gap: int) -> int:
    """`run_lengths` of one line."""
    n_maps, n_t = hits.shape[0], hits.shape[2] - 1
    reach, missed = 0, 0
    for k in range(1, limit):
        t = start + step * k
        if t < 0 or t >= n_t:
            break
        hit = False
        for m in range(n_maps):
            if (kind < 0 or kind == m) and hits[m, line, t + 1] > hits[m, line, t]:
                hit = True
        if hit:
            reach, missed = k, 0
        else:
            missed += 1
            if missed > gap:
                break
    return reach


@njit("int64[:](int32[:, :, :], int64[:], int64[:], int64[:], int64[:], int64[:], int64)",
      cache=True, nogil=True)
def run_lengths(hits: npt.NDArray[np.int32], lines: npt.NDArray[np.int64],
                starts: npt.NDArray[np.int64], steps: npt.NDArray[np.int64],
                kinds: npt.NDArray[np.int64], limits: npt.NDArray[np.int64],
                gap: int) -> npt.NDArray[np.int64]:
    """How far the run of edges along each of `lines` (K,) reaches, followed from the station
    after `starts` one way (`steps`, +1 or -1), gaps of up to `gap` stations bridged: in
    stations from the start to its last hit, 0 where no run follows. Edges of one kind only
    (`kinds`: a map of `Profiles.hits`, the cumulative counts (M, L, T + 1)) or, where -1, of
    every kind count; at most `limits` - 1 stations on are looked at."""
    out = np.zeros(len(lines), np.int64)
    for q in range(len(lines)):
        out[q] = _run_length(hits, lines[q], starts[q], steps[q], kinds[q], limits[q], gap)
    return out


def run_stops(prof: Profiles, lines: npt.NDArray[np.intp], anchors: F64, ways: F64,
              limits: F64, kinds: int | npt.NDArray[np.intp] = -1, gap: int = RUN_GAP) -> F64:
    """Per line of `lines` (K,), the station where the edge along it, followed from station
    `anchors` in direction `ways` (+1 or -1), ends (`run_lengths`: gaps of up to `gap`
    stations bridged), looking at most `limits` stations on; the anchor itself where no run
    follows it. Edges of every kind count, or of the map of `Profiles.hits` given by `kinds`
    (per line, -1 for every kind)."""
    n_t = prof.hits.shape[2] - 1
    start = np.rint(anchors).astype(np.int64)
    inside = (start >= 0) & (start < n_t)
    reach = run_lengths(prof.hits, lines.astype(np.int64), start, ways.astype(np.int64),
                        np.broadcast_to(np.asarray(kinds, np.int64), lines.shape).copy(),
                        np.maximum(2, limits.astype(np.int64)), gap)
    return np.asarray(anchors + ways * np.where(inside, reach, 0), np.float64)


@njit(cache=True, nogil=True, inline="always")
def _arms_match(arm_a: int, arm_c: int, base_len: float, least: float, ratio: float) -> bool:
    """Whether arms `arm_a` and `arm_c` stations long run as a document's sides from a base
    `base_len` stations long: each at least `least` of the base, the longer at most `ratio`
    times the shorter (opposite sides in perspective)."""
    short = min(arm_a, arm_c)
    return short >= least * base_len and max(arm_a, arm_c) <= ratio * max(short, 1e-9)


@njit(cache=True, nogil=True, inline="always")
def _ends_inside(points: F64, origin: F64, direction: F64, reach: float, step: float, a: int,
                 c: int, ends: npt.NDArray[np.int64], width: int, height: int,
                 margin: float) -> bool:
    """The points (2, 2) at stations `ends` of lines `a` and `c` (`Profiles.point_at`) into
    `points`, and whether both lie `margin` px or more inside the frame (`shape.in_frame`)."""
    both = True
    for k in range(2):
        line = a if k == 0 else c
        along = ends[k] * step - reach
        x = origin[line, 0] + along * direction[line, 0]
        y = origin[line, 1] + along * direction[line, 1]
        points[k, 0], points[k, 1] = x, y
        both &= x >= margin and x <= width - 1 - margin and y >= margin and y <= height - 1 - margin
    return both


@njit("Tuple((int64[:], int64[:], int64[:], float64[:], float64[:, :], float64[:, :], "
      "boolean[:]))(float64[:, :], int64[:, :], float64[:, :], float64[:, :], float64[:, :], "
      "float64[:, :], int32[:, :, :], float64, int64, int64, int64, float64[:], int64, int64)",
      cache=True, nogil=True)
def _closed_us(table: F64, pairs: npt.NDArray[np.int64], lines: F64, origin: F64,
               direction: F64, station: F64, hits: npt.NDArray[np.int32], reach: float,
               n_real: int, height: int, width: int, limits: F64, gap: int,
               finger_gap: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                         npt.NDArray[np.int64], F64, F64, F64, Mask]:
    """The U's of `completions` up to their closing line: per U whose arms' runs of edges end
    where a document's sides would, its base, its arms a and c (lines of `Profiles`), the
    base's support between them (`table`, (L, P), of the `pairs` (P, 2)), the two points
    where the arms' runs end (K, 2 each), and whether those are where the runs of one kind
    of edge end. The lines, their origins, directions and stations, the `hits`
    and `reach` are `Profiles`' fields; only the first `n_real` lines are taken; the frame is
    `height` x `width`. `limits`: `_MIN_BASE_SUPPORT`, `_MIN_CORNER_SIN`, `_MIN_ARM`,
    `_MAX_ARM_RATIO`, `_BY_KIND_BASE`, `_EDGE_MARGIN`, `_DISTINCT` and `STEP`; runs bridge
    gaps of `gap` stations, and of `finger_gap` where the arms do not match.

    In order: each U (base, then pair, in order) with its arms followed from the base one
    way, then each the other way, those closed where the runs of every kind of edge end;
    then, of those ending inside the frame on a base supported `_BY_KIND_BASE`, those closed
    elsewhere where the runs of one kind (a map of `hits`) end: per arm, of the kind crossing
    it at most stations along its run, then of the kind crossing it at most along the first
    `_MIN_ARM` of the base (as far as any arm must run); a second time only where the two
    kinds close it differently. A card's side seen against one ground keeps its polarity up
    to the card's end; an edge in line with it running on past its end (fingers, a thing
    behind the card) is seldom of that same kind all along."""
    least_base, corner_sin, least_arm, arm_ratio = limits[0], limits[1], limits[2], limits[3]
    by_kind_base, margin, distinct, step = limits[4], limits[5], limits[6], limits[7]
    n_maps, n_t = hits.shape[0], hits.shape[2] - 1
    n_pairs = len(pairs)
    # The U's: a base well supported between a pair of real lines, both meeting it steeply.
    us = np.empty((n_real * n_pairs, 2), np.int64)
    n_us = 0
    for b in range(n_real):
        for p in range(n_pairs):
            a, c = pairs[p, 0], pairs[p, 1]
            if a >= n_real or c >= n_real or not table[b, p] >= least_base or b in (a, c):
                continue
            along_a = lines[b, 0] * direction[a, 0] + lines[b, 1] * direction[a, 1]
            along_c = lines[b, 0] * direction[c, 0] + lines[b, 1] * direction[c, 1]
            if abs(along_a) >= corner_sin and abs(along_c) >= corner_sin:
                us[n_us, 0], us[n_us, 1] = b, p
                n_us += 1
    # Each U followed both ways from its base; per arm its line, the station where it meets
    # the base, the way and where its run ends.
    n = 2 * n_us
    base, arm_a, arm_c, held = (np.empty(n, np.int64), np.empty(n, np.int64),
                                np.empty(n, np.int64), np.empty(n))
    corner = np.empty((n, 2), np.int64)
    way = np.empty((n, 2), np.int64)
    end = np.empty((n, 2), np.int64)
    length = np.empty(n)
    kept = np.zeros(n, np.bool_)
    for i in range(n):
        u = i % n_us
        side = 1.0 if i < n_us else -1.0
        b, p = us[u, 0], us[u, 1]
        base[i], arm_a[i], arm_c[i], held[i] = b, pairs[p, 0], pairs[p, 1], table[b, p]
        for k in range(2):
            line = pairs[p, k]
            corner[i, k] = int(min(max(np.rint(station[line, b]), 0.0), n_t - 1))
            along = lines[b, 0] * direction[line, 0] + lines[b, 1] * direction[line, 1]
            way[i, k] = 1 if along * side > 0 else -1
            end[i, k] = corner[i, k] + way[i, k] * _run_length(
                hits, line, corner[i, k], way[i, k], -1, n_t + 1, gap)
        length[i] = abs(station[b, arm_a[i]] - station[b, arm_c[i]])
        run_a, run_c = abs(end[i, 0] - corner[i, 0]), abs(end[i, 1] - corner[i, 1])
        # Where the arms do not match, the shorter followed again over wider gaps (a finger).
        if (max(run_a, run_c) >= least_arm * length[i]
                and not _arms_match(run_a, run_c, length[i], least_arm, arm_ratio)):
            k = 0 if run_a < run_c else 1
            line = pairs[p, k]
            end[i, k] = corner[i, k] + way[i, k] * _run_length(
                hits, line, corner[i, k], way[i, k], -1, n_t + 1, finger_gap)
        kept[i] = (min(abs(end[i, 0] - corner[i, 0]), abs(end[i, 1] - corner[i, 1]))
                   >= least_arm * length[i])
    # Those kept, then those closed where the runs of one kind end (at most two each).
    order = np.flatnonzero(kept)
    m = len(order)
    ends = np.empty((3 * m, 2), np.int64)
    which = np.empty(3 * m, np.int64)
    ends[:m] = end[order]
    which[:m] = order
    inside = np.empty(3 * m, np.bool_)
    points = np.empty((3 * m, 2, 2))
    for j in range(m):
        inside[j] = _ends_inside(points[j], origin, direction, reach, step, arm_a[order[j]],
                                 arm_c[order[j]], ends[j], width, height, margin)
    kind_ends = np.empty((2, m, 2), np.int64)
    moved = np.zeros((2, m), np.bool_)
    for j in range(m):
        i = order[j]
        if not (inside[j] and held[i] >= by_kind_base):
            continue
        least = int(np.ceil(least_arm * length[i]))
        for k in range(2):
            line = arm_a[i] if k == 0 else arm_c[i]
            start, stop = corner[i, k], end[i, k]
            first = min(max(start + (least if way[i, k] > 0 else -least), 0), n_t - 1)
            for v in range(2):
                # The kind crossing the arm most along its run (v = 0), or along its first
                # `least` stations (v = 1); of equal counts the first.
                lo, hi = (min(start, stop), max(start, stop)) if v == 0 else (
                    min(start, first), max(start, first))
                kind, most = 0, -1
                for map_ in range(n_maps):
                    count = hits[map_, line, hi + 1] - hits[map_, line, lo]
                    if count > most:
                        kind, most = map_, count
                kind_ends[v, j, k] = start + way[i, k] * _run_length(
                    hits, line, start, way[i, k], kind, n_t + 1, gap)
                moved[v, j] |= abs(kind_ends[v, j, k] - stop) * step > distinct
        # (Where both choices of kind close it alike, once.)
        if kind_ends[0, j, 0] == kind_ends[1, j, 0] and kind_ends[0, j, 1] == kind_ends[1, j, 1]:
            moved[1, j] = False
    n_all = m
    for v in range(2):
        for j in range(m):
            if moved[v, j]:
                i = order[j]
                ends[n_all] = kind_ends[v, j]
                which[n_all] = i
                inside[n_all] = _ends_inside(points[n_all], origin, direction, reach, step,
                                             arm_a[i], arm_c[i], ends[n_all], width, height,
                                             margin)
                n_all += 1
    # The arms match as a document's sides, and end inside the frame.
    ok = np.zeros(n_all, np.bool_)
    for j in range(n_all):
        i = which[j]
        ok[j] = inside[j] and _arms_match(abs(ends[j, 0] - corner[i, 0]),
                                          abs(ends[j, 1] - corner[i, 1]), length[i],
                                          least_arm, arm_ratio)
    out = np.flatnonzero(ok)
    pick = which[out]
    return (base[pick], arm_a[pick], arm_c[pick], held[pick],
            np.ascontiguousarray(points[out, 0]), np.ascontiguousarray(points[out, 1]),
            out >= m)


def completions(prof: Profiles, pairs: npt.NDArray[np.intp], table: F64, n_real: int,
                size: tuple[int, int]) -> tuple[F64, npt.NDArray[np.intp], Mask]:
    """Closing lines (K, 3) of the U's the lines make (two of a parallel pair, a and c, and a
    line b between them, in a frame of `size`, (h, w)), the quads (K, 4) around them, the new
    line's index to be `len(prof.lines) + k`, and which are closed where the runs of one kind of
    edge end (K,; `_closed_us`)."""
    none = np.zeros((0, 3)), np.zeros((0, 4), np.intp), np.zeros(0, np.bool_)
    h, w = size
    base, a, c, held, pa, pc, by_kind = _closed_us(
        np.asarray(table, np.float64), np.asarray(pairs, np.int64), prof.lines, prof.origin,
        prof.direction, prof.station, prof.hits, prof.reach, n_real, h, w,
        np.array([_MIN_BASE_SUPPORT, _MIN_CORNER_SIN, _MIN_ARM, _MAX_ARM_RATIO, _BY_KIND_BASE,
                  _EDGE_MARGIN, _DISTINCT, STEP]), RUN_GAP, _FINGER_GAP)
    if len(base) == 0:
        return none
    # The closing line through where the arms' runs end.
    d = pc - pa
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    nx, ny = d[:, 1] / norm, -d[:, 0] / norm
    tilt = np.abs(nx * prof.lines[base, 0] + ny * prof.lines[base, 1])
    fine = ((norm > 1e-6) & (tilt >= _MAX_TILT_COS)
            & ~_on_a_line(prof.lines[:n_real], pa, pc))
    quads = np.stack([prof.meet[a, base], prof.meet[c, base], pc, pa], axis=1)[fine]
    area = areas(quads)
    plausible = plausible_many(quads, h * w, area)
    fine[fine] = plausible
    quads, area = quads[plausible], area[plausible]
    if len(quads) == 0:
        return none
    # The U's valued as their quads will be (`quads.score`) but for the closing side's support,
    # not known yet: their base's support, their distance from a document's aspect and their
    # size. The best first; of near copies (neighbouring lines close much the same U), the
    # first only.
    errors = aspect_errors(order_many(quads), w, h)
    value = shaped(held[fine], errors, area, w, h)
    pick = _distinct(np.ascontiguousarray(quads, np.float64),
                     np.argsort(-value, kind="stable"), MAX_COMPLETIONS, _DISTINCT)
    k = np.flatnonzero(fine)[pick]
    lines = stacked(nx[k], ny[k], -(nx[k] * pa[k, 0] + ny[k] * pa[k, 1]))
    around = stacked(a[k], base[k], c[k], len(prof.lines) + np.arange(len(k)))
    return lines, around, by_kind[k]


@njit("int64[:](float64[:, :, ::1], int64[:], int64, float64)", cache=True, nogil=True)
def _distinct(quads: F64, order: npt.NDArray[np.int64], most: int,
              apart: float) -> npt.NDArray[np.int64]:
    """Of `quads` (K, 4, 2) in `order`, the first `most` that differ from every one taken
    before them by more than `apart` px at some corner (a coordinate)."""
    pick = np.empty(min(most, len(order)), np.int64)
    n = 0
    for i in order:
        if n == most:
            break
        distinct = True
        for j in pick[:n]:
            gap = 0.0
            for k in range(4):
                for c in range(2):
                    gap = max(gap, abs(quads[i, k, c] - quads[j, k, c]))
            distinct &= gap > apart
        if distinct:
            pick[n] = i
            n += 1
    return pick[:n].copy()


def _on_a_line(lines: F64, pa: F64, pc: F64) -> npt.NDArray[np.bool_]:
    """Whether both ends pa and pc (K, 2) lie within `_DISTINCT` px of one of `lines` (the
    closing side is a line already: its quad is among the others)."""
    da = np.abs(pa @ lines[:, :2].T + lines[:, 2])
    dc = np.abs(pc @ lines[:, :2].T + lines[:, 2])
    return np.asarray(((da < _DISTINCT) & (dc < _DISTINCT)).any(axis=1), np.bool_)


# An arm whose run ends this close to the frame's edge (px) ends there because the frame does:
# the document runs on out of view, where the frame border closes its quad (and marks it as
# clipped, its aspect unknown).
_EDGE_MARGIN: Final = 3.0
