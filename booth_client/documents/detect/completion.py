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
frame does: the frame border closes that quad already, as one reaching out of view.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .profiles import STEP, Profiles
from .quads import plausible_many, shaped
from .shape import F64, areas, aspect_errors, order_many, stacked

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
# The closing line lies within this angle of the base (perspective).
_MAX_TILT_COS: Final = float(np.cos(np.radians(25.0)))
# At most this many completions (the best valued first, `completions`), differing by more than
# this much at some corner (px).
MAX_COMPLETIONS: Final = 6
_DISTINCT: Final = 3.0


def _run_ends(hit: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """For each line and station (L, T) of `hit` (an edge crosses the line there), where the run
    followed forward from the next station on ends, gaps of up to `RUN_GAP` stations bridged: the
    station of its last hit, or the station itself where no run follows it."""
    n_lines, n_t = hit.shape
    # gap[t]: stations t .. t + RUN_GAP all miss (past the last station counts as missing).
    miss = ~np.concatenate([hit, np.zeros((n_lines, RUN_GAP + 1), np.bool_)], axis=1)
    gap = miss[:, :n_t].copy()
    for k in range(1, RUN_GAP + 1):
        gap &= miss[:, k:k + n_t]
    t = np.arange(n_t)
    # The first gap at or after each station (n_t where none) ...
    first = np.minimum.accumulate(np.where(gap, t, n_t)[:, ::-1], axis=1)[:, ::-1]
    # ... and after it: the run from s covers s + 1 .. after[s] - 1, which ends on a hit.
    after = np.concatenate([first[:, 1:], np.full((n_lines, 1), n_t)], axis=1)
    return np.asarray(np.where(after > t + 1, after - 1, t), np.intp)


def run_stops(prof: Profiles, lines: npt.NDArray[np.intp], anchors: F64, ways: F64,
              limits: F64) -> F64:
    """Per line of `lines` (K,), the station where the edge along it, followed from station
    `anchors` in direction `ways` (+1 or -1), ends (`_run_ends`: gaps of up to `RUN_GAP`
    stations bridged), looking at most `limits` stations on; the anchor itself where no run
    follows it."""
    n_t = prof.hits.shape[2] - 1
    hit = np.diff(prof.hits[:, lines], axis=2).max(axis=0) > 0  # (K, T)
    back = ways < 0
    # Followed backward: along the line reversed.
    hit[back] = hit[back, ::-1]
    start = np.rint(anchors).astype(np.intp)
    start = np.where(back, n_t - 1 - start, start)
    span = np.maximum(2, limits.astype(np.intp)) - 1
    t = np.arange(n_t)
    window = (t[None, :] > start[:, None]) & (t[None, :] <= (start + span)[:, None])
    inside = (start >= 0) & (start < n_t)
    ends = _run_ends(hit & window)[np.arange(len(lines)), np.clip(start, 0, n_t - 1)]
    return np.asarray(anchors + ways * np.where(inside, ends - start, 0), np.float64)


def completions(prof: Profiles, pairs: npt.NDArray[np.intp], table: F64, n_real: int,
                size: tuple[int, int]) -> tuple[F64, npt.NDArray[np.intp]]:
    """Closing lines (K, 3) of the U's the lines make (two of a parallel pair, a and c, and a
    line b between them, in a frame of `size`, (h, w)) and the quads (K, 4) around them, the
    new line's index to be `len(prof.lines) + k`."""
    none = np.zeros((0, 3)), np.zeros((0, 4), np.intp)
    real = (pairs < n_real).all(axis=1)
    pairs, table = pairs[real], table[:n_real][:, real]
    base, p = np.nonzero(table >= _MIN_BASE_SUPPORT)
    a, c = pairs[p, 0], pairs[p, 1]
    nb = prof.lines[base, :2]
    da, dc = prof.direction[a], prof.direction[c]
    # Both arms meet the base steeply; along each, the way leading to either side of the base.
    along_a = nb[:, 0] * da[:, 0] + nb[:, 1] * da[:, 1]
    along_c = nb[:, 0] * dc[:, 0] + nb[:, 1] * dc[:, 1]
    steep = ((np.abs(along_a) >= _MIN_CORNER_SIN) & (np.abs(along_c) >= _MIN_CORNER_SIN)
             & (base != a) & (base != c))
    k = np.flatnonzero(steep)
    if len(k) == 0:
        return none
    # Each U twice, once per side of its base.
    k = np.concatenate([k, k])
    side = np.repeat([1.0, -1.0], len(k) // 2)
    base, a, c, held = base[k], a[k], c[k], table[base[k], p[k]]
    n_t = prof.hits.shape[2] - 1
    hits = np.diff(prof.hits[:, :n_real], axis=2).max(axis=0) > 0
    # Forward along each line, and backward (along the line reversed), in one pass.
    ends = _run_ends(np.concatenate([hits, hits[:, ::-1]]))
    forward, backward = ends[:n_real], n_t - 1 - ends[n_real:, ::-1]
    corner_a = np.clip(np.rint(prof.station[a, base]), 0, n_t - 1).astype(np.intp)
    corner_c = np.clip(np.rint(prof.station[c, base]), 0, n_t - 1).astype(np.intp)
    end_a = np.where(along_a[k] * side > 0, forward[a, corner_a], backward[a, corner_a])
    end_c = np.where(along_c[k] * side > 0, forward[c, corner_c], backward[c, corner_c])
    arm_a = np.abs(end_a - corner_a)
    arm_c = np.abs(end_c - corner_c)
    short = np.minimum(arm_a, arm_c) * STEP
    base_len = np.abs(prof.station[base, a] - prof.station[base, c]) * STEP
    ok = ((short >= _MIN_ARM * base_len)
          & (np.maximum(arm_a, arm_c) * STEP <= _MAX_ARM_RATIO * np.maximum(short, 1e-9)))
    k = np.flatnonzero(ok)
    base, a, c, held, end_a, end_c = base[k], a[k], c[k], held[k], end_a[k], end_c[k]
    # Where the arms' runs end, and the closing line through those two points.
    pa = prof.origin[a] + (end_a[:, None] * STEP - prof.reach) * prof.direction[a]
    pc = prof.origin[c] + (end_c[:, None] * STEP - prof.reach) * prof.direction[c]
    d = pc - pa
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    nx, ny = d[:, 1] / norm, -d[:, 0] / norm
    tilt = np.abs(nx * prof.lines[base, 0] + ny * prof.lines[base, 1])
    h, w = size
    fine = ((norm > 1e-6) & (tilt >= _MAX_TILT_COS) & _clear_of_edges(pa, w, h)
            & _clear_of_edges(pc, w, h) & ~_on_a_line(prof.lines[:n_real], pa, pc))
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
    pick: list[int] = []
    for i in np.argsort(-value, kind="stable").tolist():
        if all(np.abs(quads[i] - quads[j]).max() > _DISTINCT for j in pick):
            pick.append(i)
            if len(pick) == MAX_COMPLETIONS:
                break
    k = np.flatnonzero(fine)[pick]
    lines = stacked(nx[k], ny[k], -(nx[k] * pa[k, 0] + ny[k] * pa[k, 1]))
    around = stacked(a[k], base[k], c[k], len(prof.lines) + np.arange(len(k)))
    return lines, around


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


def _clear_of_edges(points: F64, width: int, height: int) -> npt.NDArray[np.bool_]:
    """Whether `points` (K, 2) lie more than `_EDGE_MARGIN` px inside the frame."""
    x, y = points[:, 0], points[:, 1]
    return np.asarray((x >= _EDGE_MARGIN) & (x <= width - 1 - _EDGE_MARGIN)
                      & (y >= _EDGE_MARGIN) & (y <= height - 1 - _EDGE_MARGIN), np.bool_)
