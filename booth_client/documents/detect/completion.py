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
saturation, one polarity: the card against its ground) end where the card does (`_by_kind`).
A U is closed there too, where the runs of every kind end inside the frame.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .profiles import STEP, Profiles
from .quads import plausible_many, shaped
from .shape import F64, Mask, areas, aspect_errors, in_frame, order_many, stacked

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
# A U is also closed where the runs of one kind of edge end (`_by_kind`) only where its base is
# supported this well (a card's side).
_BY_KIND_BASE: Final = 0.8
# The closing line lies within this angle of the base (perspective).
_MAX_TILT_COS: Final = float(np.cos(np.radians(25.0)))
# The gaps (stations) bridged along arms that do not match (`completions`): a finger across a
# card's side, 16 px of the working frame, cuts its run by more than `RUN_GAP`.
_FINGER_GAP: Final = 8
# At most this many completions (the best valued first, `completions`), differing by more than
# this much at some corner (px).
MAX_COMPLETIONS: Final = 6
_DISTINCT: Final = 3.0


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
    n_maps, n_t = hits.shape[0], hits.shape[2] - 1
    out = np.zeros(len(lines), np.int64)
    for q in range(len(lines)):
        line, step, kind = lines[q], steps[q], kinds[q]
        missed = 0
        for k in range(1, limits[q]):
            t = starts[q] + step * k
            if t < 0 or t >= n_t:
                break
            hit = False
            for m in range(n_maps):
                if (kind < 0 or kind == m) and hits[m, line, t + 1] > hits[m, line, t]:
                    hit = True
            if hit:
                out[q], missed = k, 0
            else:
                missed += 1
                if missed > gap:
                    break
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


def completions(prof: Profiles, pairs: npt.NDArray[np.intp], table: F64, n_real: int,
                size: tuple[int, int]) -> tuple[F64, npt.NDArray[np.intp], Mask]:
    """Closing lines (K, 3) of the U's the lines make (two of a parallel pair, a and c, and a
    line b between them, in a frame of `size`, (h, w)), the quads (K, 4) around them, the new
    line's index to be `len(prof.lines) + k`, and which are closed where the runs of one kind of
    edge end (K,; `_by_kind`)."""
    none = np.zeros((0, 3)), np.zeros((0, 4), np.intp), np.zeros(0, np.bool_)
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
    # (np.clip on these small arrays costs more than the two ufuncs it wraps.)
    corner_a = np.minimum(np.maximum(np.rint(prof.station[a, base]), 0), n_t - 1).astype(np.intp)
    corner_c = np.minimum(np.maximum(np.rint(prof.station[c, base]), 0), n_t - 1).astype(np.intp)
    way_a, way_c = along_a[k] * side > 0, along_c[k] * side > 0
    # Where the arms' edges end, followed from the base: the runs of edges of every kind.
    end_a, end_c = _run_ends(prof, np.concatenate([a, c]), np.concatenate([corner_a, corner_c]),
                             np.concatenate([way_a, way_c]), -1).reshape(2, -1)
    # Where the arms do not match (the shorter falls short of a document's side, or of the
    # longer, which does not), a finger held across the shorter may have cut its run: it is
    # followed again over gaps of up to `_FINGER_GAP` stations.
    arm_a, arm_c = np.abs(end_a - corner_a), np.abs(end_c - corner_c)
    base_len = np.abs(prof.station[base, a] - prof.station[base, c])
    cut = np.flatnonzero((np.maximum(arm_a, arm_c) >= _MIN_ARM * base_len)
                         & ~_arms_match(arm_a, arm_c, base_len))
    if len(cut):
        on_a = arm_a[cut] < arm_c[cut]
        arm = np.where(on_a, a[cut], c[cut])
        far = _run_ends(prof, arm, np.where(on_a, corner_a[cut], corner_c[cut]),
                        np.where(on_a, way_a[cut], way_c[cut]), -1, _FINGER_GAP)
        end_a[cut] = np.where(on_a, far, end_a[cut])
        end_c[cut] = np.where(on_a, end_c[cut], far)
    # Each arm runs at least `_MIN_ARM` of the base. (The runs of one kind alone, below, never
    # run on further than those of every kind: a U whose arms fall short is closed no way.)
    k = np.flatnonzero(np.minimum(np.abs(end_a - corner_a), np.abs(end_c - corner_c))
                       >= _MIN_ARM * base_len)
    base, a, c, held, base_len = base[k], a[k], c[k], held[k], base_len[k]
    corner_a, corner_c, way_a, way_c = corner_a[k], corner_c[k], way_a[k], way_c[k]
    end_a, end_c = end_a[k], end_c[k]
    pa, pc = prof.point_at(a, end_a), prof.point_at(c, end_c)
    h, w = size
    inside = in_frame(pa, w, h, _EDGE_MARGIN) & in_frame(pc, w, h, _EDGE_MARGIN)
    # Where those end inside the frame (past a card's end, onto what lies beyond it) and the
    # base is well seen, also where the runs of one kind alone end (`_by_kind`).
    e = np.flatnonzero(inside & (held >= _BY_KIND_BASE))
    by_kind = np.zeros(len(base), np.bool_)
    if len(e):
        arms = np.concatenate([a[e], c[e]])
        corner = np.concatenate([corner_a[e], corner_c[e]])
        way = np.concatenate([way_a[e], way_c[e]])
        end = np.concatenate([end_a[e], end_c[e]])
        kind_ends = _by_kind(prof, arms, corner, way,
                             np.ceil(_MIN_ARM * np.tile(base_len[e], 2)).astype(np.intp), end)
        # The U's so closed elsewhere than where the runs of every kind end (and where the two
        # choices of kind close it alike, once).
        n_e = len(e)
        moved = np.abs(kind_ends - end[None]) * STEP > _DISTINCT
        moved = moved[:, :n_e] | moved[:, n_e:]
        alike = kind_ends[0] == kind_ends[1]
        moved[1] &= ~(alike[:n_e] & alike[n_e:])
        variant, u = np.nonzero(moved)
        more = e[u]
        end_a_more, end_c_more = kind_ends[variant, u], kind_ends[variant, n_e + u]
        pa_more = prof.point_at(a[more], end_a_more)
        pc_more = prof.point_at(c[more], end_c_more)
        inside = np.concatenate([inside, in_frame(pa_more, w, h, _EDGE_MARGIN)
                                 & in_frame(pc_more, w, h, _EDGE_MARGIN)])
        pa, pc = np.concatenate([pa, pa_more]), np.concatenate([pc, pc_more])
        end_a, end_c = np.concatenate([end_a, end_a_more]), np.concatenate([end_c, end_c_more])
        base, a, c, held, corner_a, corner_c, base_len = (
            np.concatenate([v, v[more]])
            for v in (base, a, c, held, corner_a, corner_c, base_len))
        by_kind = np.concatenate([by_kind, np.ones(len(more), np.bool_)])
    ok = _arms_match(np.abs(end_a - corner_a), np.abs(end_c - corner_c), base_len) & inside
    k = np.flatnonzero(ok)
    base, a, c, held, pa, pc, by_kind = base[k], a[k], c[k], held[k], pa[k], pc[k], by_kind[k]
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
    pick: list[int] = []
    for i in np.argsort(-value, kind="stable").tolist():
        if all(np.abs(quads[i] - quads[j]).max() > _DISTINCT for j in pick):
            pick.append(i)
            if len(pick) == MAX_COMPLETIONS:
                break
    k = np.flatnonzero(fine)[pick]
    lines = stacked(nx[k], ny[k], -(nx[k] * pa[k, 0] + ny[k] * pa[k, 1]))
    around = stacked(a[k], base[k], c[k], len(prof.lines) + np.arange(len(k)))
    return lines, around, by_kind[k]


def _arms_match(arm_a: npt.NDArray[np.intp], arm_c: npt.NDArray[np.intp],
                base_len: F64) -> Mask:
    """Whether the arms of U's, `arm_a` and `arm_c` stations long, run as a document's sides
    from bases `base_len` stations long: each at least `_MIN_ARM` of the base, the longer at
    most `_MAX_ARM_RATIO` times the shorter (opposite sides in perspective)."""
    short = np.minimum(arm_a, arm_c)
    return np.asarray((short >= _MIN_ARM * base_len)
                      & (np.maximum(arm_a, arm_c) <= _MAX_ARM_RATIO * np.maximum(short, 1e-9)),
                      np.bool_)


def _by_kind(prof: Profiles, line: npt.NDArray[np.intp], corner: npt.NDArray[np.intp],
             way: npt.NDArray[np.bool_], least: npt.NDArray[np.intp],
             end: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Where the runs of one kind of edge alone (grey or saturation, either polarity: a map of
    `Profiles.hits`) end along arms (K,) of `line`, followed from `corner` forward (`way`) or
    backward, whose runs of edges of every kind end at `end`: of the kind crossing the arm at
    most stations along that run, and of the kind crossing it at most along its first `least`
    stations (as far as any arm must run); (2, K).

    A card's side seen against one ground keeps its polarity up to the card's end; an edge in
    line with it running on past its end (fingers, a thing behind the card) is seldom of that
    same kind all along. (A kind crossing at every station where any kind crosses along the
    run ends with it.)"""
    n_t = prof.hits.shape[2] - 1
    first = np.minimum(np.maximum(corner + np.where(way, least, -least), 0), n_t - 1)
    kind = np.stack([np.argmax(_kind_counts(prof, line, corner, end), axis=0),
                     np.argmax(_kind_counts(prof, line, corner, first), axis=0)])
    return _run_ends(prof, np.tile(line, 2), np.tile(corner, 2), np.tile(way, 2),
                     kind.ravel()).reshape(2, -1)


def _run_ends(prof: Profiles, line: npt.NDArray[np.intp], start: npt.NDArray[np.intp],
              way: npt.NDArray[np.bool_], kind: int | npt.NDArray[np.intp],
              gap: int = RUN_GAP) -> npt.NDArray[np.intp]:
    """The stations (K,) where the runs of edges of `kind` (a map of `Profiles.hits`, -1 for
    every kind) along `line` (K,), followed from `start` (inside the profile) forward (`way`)
    or backward, end (`run_stops`, gaps of up to `gap` stations bridged, as far as the line
    goes); `start` where no run follows it."""
    stops = run_stops(prof, line, start.astype(np.float64), np.where(way, 1.0, -1.0),
                      np.full(len(line), float(prof.hits.shape[2])), kind, gap)
    return np.asarray(stops, np.intp)


def _kind_counts(prof: Profiles, line: npt.NDArray[np.intp], start: npt.NDArray[np.intp],
                 stop: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Per kind of edge (of `Profiles.hits`) and line of `line` (K,), the stations from
    `start` to `stop` where it crosses the line, (M, K)."""
    lo, hi = np.minimum(start, stop), np.maximum(start, stop)
    return np.asarray(prof.hits[:, line, hi + 1] - prof.hits[:, line, lo], np.intp)


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
