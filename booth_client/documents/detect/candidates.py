"""Stage 4, the candidates: the line search on the shrunk frame (stages 1 to 3) and the
shortlist it gives (`line_candidates`).

Where three lines make a U (a card whose fourth side did not become a line), the line where
its arms' edges end closes it (`completion`), and those quads are valued with the others. For
the best quads with a crossed side, the line where their neighbours' edges end is tried as
that side instead (the card's outline beyond its band, however faint). The best forty are
valued again by how far they stand out from what lies around them (`surround`: a document
differs from its ground all round, a quad of brick, gravel or a face does not); the best dozen
of them by how well their sides separate two surfaces (`_surface_lack`: a document's
outline, not a line across one surface such as mortar or print), and a quad crossing the frame
is kept only where both its sides do. Quads lying inside a
larger well-supported document-shaped quad are dropped when they are well inside it (photo,
code, panel) or crossed (the field below a band). Quads valued very low are not tried; of the
others, the best few distinct ones make the shortlist, and a few more follow as fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .completion import completions, run_stops
from .edges import Work
from .lines import segment_lines
from .profiles import Profiles, between_pairs, profile_parts, profiles, span_support
from .quads import (
    ASPECT_SLACK,
    Scored,
    banded,
    crossed,
    crossing,
    pairs_of_pairs,
    parallel_pairs,
    score,
    side_ends,
)
from .shape import F64, NEXT, PREV, Mask, areas, depth_inside, nan_as, order_many
from .surround import surround_distances
from .verify import HELD_CLOSE_STEP, colour_steps, crossing_ok

SHORTLIST: Final = 3
# Further distinct quads tried, in order of value, when none of the shortlist passes.
_FALLBACK: Final = 2


@dataclass
class Candidates:
    quads: F64  # (N, 4, 2) in the shrunk frame, ordered TL, TR, BR, BL
    value: F64
    # Which are completed U's (`completion`), their fourth side where their arms' edges end.
    completed: Mask


_EXTEND: Final = 8
# The line found instead of a crossed side lies within 20 degrees of it.
_EXTEND_COS: Final = float(np.cos(np.radians(20.0)))


def _extensions(prof: Profiles, best: Scored) -> tuple[F64, npt.NDArray[np.intp]]:
    """For quads with a crossed side, the line where their neighbours' edges end instead (the
    card outline beyond its band, however faint): new lines (K, 3) and the quads (K, 4) around
    them, the new line's index to be `len(prof.lines) + k`."""
    crossing = crossed(best.beyond)
    q_of, j_of = np.nonzero(crossing >= _NEST_CROSSED)
    if len(q_of) == 0:
        return np.zeros((0, 3)), np.zeros((0, 4), np.intp)
    # Each crossed side's neighbours, followed past it from where they meet it (the end of the
    # side before it, the start of the side after it), up to their own length on.
    sides = np.stack([PREV[j_of], NEXT[j_of]], axis=1)  # (K, 2)
    rows = q_of[:, None]
    a, b = best.first[rows, sides], best.second[rows, sides]
    anchor = np.where([True, False], b, a)
    other = np.where([True, False], a, b)
    way = np.where(anchor >= other, 1.0, -1.0)
    neighbours = best.around[rows, sides]
    stops = run_stops(prof, neighbours.ravel(), anchor.ravel(), way.ravel(),
                      np.abs(b - a).ravel()).reshape(-1, 2)
    # Both neighbours' runs must go on past the side; the line through where they end.
    ran_on = (np.abs(stops - anchor) >= 2).all(axis=1)
    ends = prof.point_at(neighbours, stops)  # (K, 2, 2)
    new_lines: list[F64] = []
    new_around: list[npt.NDArray[np.intp]] = []
    for k, (q, j) in enumerate(zip(q_of.tolist(), j_of.tolist(), strict=True)):
        if not ran_on[k]:
            continue
        p, r = ends[k]
        d = r - p
        norm = float(np.hypot(d[0], d[1]))
        if norm < 1e-6:
            continue
        nx, ny = d[1] / norm, -d[0] / norm
        old = prof.lines[best.around[q, j], :2]
        if abs(nx * old[0] + ny * old[1]) < _EXTEND_COS:
            continue
        new_lines.append(np.array([nx, ny, -(nx * p[0] + ny * p[1])]))
        quad = best.around[q].copy()
        quad[j] = len(prof.lines) + len(new_lines) - 1
        new_around.append(quad)
    if not new_lines:
        return np.zeros((0, 3)), np.zeros((0, 4), np.intp)
    return np.array(new_lines), np.array(new_around, np.intp)


def _with_lines(work: Work, prof: Profiles, border: Mask, lines: F64) -> tuple[Profiles, Mask]:
    """`prof` and the `border` mask with the profiles of further `lines` (none on the border)
    appended."""
    origin, direction, _, hits, valid = profile_parts(work, lines, len(lines))
    return (Profiles(np.concatenate([prof.lines, lines]), np.concatenate([prof.origin, origin]),
                     np.concatenate([prof.direction, direction]), prof.reach,
                     np.concatenate([prof.hits, hits], axis=1),
                     np.concatenate([prof.valid, valid])),
            np.concatenate([border, np.zeros(len(lines), np.bool_)]))


def frame_border(h: int, w: int) -> F64:
    """The four lines (a, b, c) of an `h` x `w` frame's border, through its outermost pixels'
    centres (left, right, top, bottom): they bound a document reaching out of the frame."""
    return np.array([[1.0, 0.0, 0.0], [1.0, 0.0, -(w - 1.0)], [0.0, 1.0, 0.0],
                     [0.0, 1.0, -(h - 1.0)]])


def line_search(work: Work) -> tuple[Profiles, npt.NDArray[np.intp], F64, int] | None:
    """The first steps of the line search on `work`: the profiles of the lines found and,
    after them, of the frame border's four (`frame_border`); the pairs of roughly parallel
    lines; the support of every line between each pair (L, P); and how many lines were found.
    None below two lines. (Two lines may bound a document with the frame border: over a
    corner of the frame, or across it.)"""
    h, w = work.gray.shape
    lines = segment_lines(work)
    if len(lines) < 2:
        return None
    n_real = len(lines)
    prof = profiles(work, np.concatenate([lines, frame_border(h, w)]), n_real)
    pairs = parallel_pairs(prof.lines, h, w)
    return prof, pairs, between_pairs(prof, pairs), n_real


def line_candidates(work: Work, whole_only: bool = False) -> Candidates | None:
    """The shortlist of the line search on `work`, or None. `whole_only`: for a search that
    takes only a document wholly in view (the finer one), no quad crossing the frame."""
    h, w = work.gray.shape
    searched = line_search(work)
    if searched is None:
        return None
    prof, pairs, table, n_real = searched
    border = np.arange(n_real + 4) >= n_real
    around, bounds = pairs_of_pairs(prof.lines, pairs, table, border)
    support = table[around, bounds]
    # Where three lines make a U, the line where its arms' edges end closes it (a card's side
    # that did not become a line); those quads are valued with the others. (Not in the finer
    # search: there the texture's lines close U's of their own.)
    closing, closed, by_kind = (
        completions(prof, pairs, table, n_real, (h, w)) if not whole_only
        else (np.zeros((0, 3)), np.zeros((0, 4), np.intp), np.zeros(0, np.bool_)))
    first_closing = len(prof.lines)
    if len(closing):
        prof, border = _with_lines(work, prof, border, closing)
        closed_support = span_support(prof, closed, *side_ends(prof, closed))
        # A U closed where one kind of edge ends (not where the edges of every kind do) is
        # valued only where edges run along some of its closing side: there the card's side
        # is, faint or in part; where a card's band ends, there is none.
        seen = ~by_kind | (closed_support[:, 3] >= _BY_KIND_SIDE)
        around = np.concatenate([around, closed[seen]])
        support = np.concatenate([support, closed_support[seen]])
    conjectured = np.arange(len(prof.lines)) >= first_closing
    scored = score(prof, around, border, h, w, support, conjectured, work.dark)
    if scored is None:
        return None
    # The completed U's take none of the other quads' places in the pool, among those extended
    # or in the shortlist: they join them.
    closes = slice(first_closing, first_closing + len(closing))

    def heads(quads: Scored, n: int) -> Scored:
        """Of `quads` in order of value, the best `n` not completed and all completed."""
        order = np.argsort(-quads.value, kind="stable")
        completed = _completed(quads.around[order], closes)
        return quads.take(order[completed | (np.cumsum(~completed) <= n)])

    # The best are valued up or down by how far they stand out from what lies around them: a
    # document differs from its ground all round; the quads that a brick wall, gravel or a
    # face offer have much the same colours inside and around.
    scored = heads(scored, _STAND_OUT_POOL)
    distance = surround_distances(work, order_many(scored.corners))
    scored.value = scored.value + _STAND_OUT_WEIGHT * nan_as(distance - _STAND_OUT_MID, 0.0)
    scored = heads(scored, _POOL)
    own = scored.take(np.flatnonzero(~_completed(scored.around, closes)))
    new_lines, new_around = _extensions(prof, own.take(np.arange(min(_EXTEND, len(own.value)))))
    if len(new_lines):
        prof, border = _with_lines(work, prof, border, new_lines)
        conjectured = np.concatenate([conjectured, np.zeros(len(new_lines), np.bool_)])
        more = score(prof, new_around, border, h, w, conjectured=conjectured, dark=work.dark)
        if more is not None:
            joined = [np.concatenate([getattr(scored, f), getattr(more, f)])
                      for f in ("around", "corners", "support", "first", "second", "beyond",
                                "band", "value", "errors", "clipped")]
            scored = heads(Scored(*joined), _POOL)
    # The best of the pool are valued again by how well their sides separate two surfaces; the
    # shortlist is drawn from them.
    scored = heads(scored, _RANKED)
    quads = order_many(scored.corners)
    steps = colour_steps(work, quads)
    # A quad crossing the frame stands for a card held close only where both its sides
    # separate different surfaces; the bands between the lines of a brick wall or a striped
    # cloth would otherwise fill the shortlist.
    across = crossing(border[scored.around])
    keep = ~across if whole_only else ~across | crossing_ok(steps)
    # In order of value less what their sides lack of a step between two surfaces.
    # (A completed U a little less than a quad the line search found whole: a quad on that
    # line's band, say, that its arms' edges end on.)
    value = (scored.value - _SURFACE_WEIGHT * _surface_lack(steps)
             - _COMPLETED_PENALTY * _completed(scored.around, closes))
    order = np.flatnonzero(keep)[np.argsort(-value[keep], kind="stable")]
    scored, quads, value = scored.take(order), quads[order], value[order]
    across, steps = across[order], steps[order]
    inner = banded(scored.beyond, scored.band).max(axis=1)
    sup = scored.support
    seen = ~np.isnan(sup)
    solid = (np.where(seen, sup, 1.0).min(axis=1) >= _NEST_SIDE) & (
        np.where(seen, sup, 0.0).sum(axis=1) >= _NEST_MEAN * seen.sum(axis=1))
    # A quad crossing the frame whose sides both separate two surfaces clearly is a card held
    # close: its photo and its code lie inside it.
    held_close = across & crossing_ok(steps, HELD_CLOSE_STEP)
    outer_ok = ((scored.errors <= ASPECT_SLACK + _NEST_ASPECT) & (~scored.clipped | held_close)
                & solid)
    keep = ~_nested(quads, outer_ok, inner >= _NEST_CROSSED, held_close, work.gray.shape)
    quads, value = quads[keep], value[keep]
    completed = _completed(scored.around, closes)[keep]
    # The same outline is often found from neighbouring lines (a side and the print just
    # inside it): the shortlist holds different quads, as refinement makes near copies one.
    gap = np.abs(quads[:, None] - quads[None, :]).max(axis=(2, 3))
    # A completed U that the line search found too (its fourth side a line, or the outline
    # beyond a band) is that quad.
    found = completed & ((gap <= _DISTINCT) & ~completed[None, :]).any(axis=1)
    pick: list[int] = []
    for i in range(len(quads)):
        if len(pick) == SHORTLIST + _FALLBACK or value[i] < _MIN_VALUE:
            break
        if (not found[i] and not (completed[i] and completed[pick].sum() == _COMPLETED)
                and all(gap[i, j] > _DISTINCT for j in pick)):
            pick.append(i)
    return Candidates(quads[pick], value[pick], completed[pick])


# At most this many of the shortlist and its fallbacks are completed U's, each valued this much
# less than a quad of the line search (whose fourth side is a line, not conjectured).
_COMPLETED: Final = 2
_COMPLETED_PENALTY: Final = 0.05


def _completed(around: npt.NDArray[np.intp], closes: slice) -> Mask:
    """Which of the quads on lines `around` (Q, 4) are completed U's: their fourth side on a
    closing line (`closes`, the indices of those lines)."""
    side = around[:, 3]
    return np.asarray((side >= closes.start) & (side < closes.stop), np.bool_)


# The least support of the closing side of a U closed where one kind of edge ends.
_BY_KIND_SIDE: Final = 0.2
_POOL: Final = 40
# The best this many quads by value are valued again by how far they stand out from what lies
# around them (`surround.surround_distances`): up or down by this weight times their distance
# less this mid point (documents found right stand out by 0.75 or more, nine in ten; the quads
# of a textured ground by 0.4-0.6). A document outvalued by quads of the brick wall, the
# gravel or the face around it, its sides cut by fingers or soft, was not among the shortlist
# (18 cards wholly in view lost so in four sets of photo-backdrop scenes at 1280x720). Over 21
# evaluation sets (6,300 scenes with a document, 2,100 without): sum of IoU +49.7, false
# detections 103 -> 114; +30.9 on the 13 sets not used to choose the values (weights 0.3 and
# 0.4, mid points 0.6 to 0.8, pools of 30 to 60 and grids of 400 to 3,200 px were measured on
# eight sets: +9.4 to +19.7).
_STAND_OUT_POOL: Final = 40
_STAND_OUT_WEIGHT: Final = 0.3
_STAND_OUT_MID: Final = 0.7
# The best quads of the pool ranked again with `_surface_lack`, of which the shortlist is drawn.
_RANKED: Final = 12
# A quad of the pool is valued less by up to this much where its sides show no step between two
# surfaces (`_surface_lack`).
_SURFACE_WEIGHT: Final = 0.2
# The colour step across a side (`verify.colour_steps`) from which it lacks nothing.
_SURFACE_STEP: Final = 30.0


def _surface_lack(steps: F64) -> F64:
    """Per quad, from its sides' colour steps (N, 4; NaN for a side out of view), how far its
    sides fall short of separating two surfaces, 0 (all do) to 1 (none does): the mean over
    its sides of 1 - step / `_SURFACE_STEP`, at least 0; a side out of view lacks nothing.

    A document's outline has the document on one side and what lies around it on the other.
    The quads a textured scene offers run along thin lines across one surface (a brick wall's
    mortar, the print on a card inside its outline, a jacket's seams), with the same surface,
    on average, on both sides."""
    lack = np.maximum(0.0, 1.0 - nan_as(steps, _SURFACE_STEP) / _SURFACE_STEP)
    return np.asarray(lack.mean(axis=1), np.float64)


# Quads valued lower (weak sides, far from a document's aspect) are not tried.
_MIN_VALUE: Final = 0.2
# Shortlisted quads differ by more than this at some corner (px in the shrunk frame).
_DISTINCT: Final = 3.0
_NEST_ASPECT: Final = 0.06
_NEST_SIDE: Final = 0.5
_NEST_MEAN: Final = 0.75
_NEST_CROSSED: Final = 0.5
_NEST_DEPTH: Final = 2.5
# A crossed quad sharing sides with a larger one is the field below its band only where the
# larger one is at most this many times its area (a band is at most a quarter of a card).
_NEST_BAND_AREA: Final = 1.5


def _nested(quads: F64, outer_ok: Mask, crossed: Mask, deep_only: Mask,
            shape: tuple[int, ...]) -> Mask:
    """Quads (N, 4, 2, clockwise on screen) lying inside a larger acceptable quad shaped like
    a document: a card's photo, panel or code (well inside it), or the field below its band
    (sharing sides with it, but `crossed`: its neighbours' edges run on past a side, and most
    of it, `_NEST_BAND_AREA`). A card inside the quad of card and shadow shares two sides with
    it and is neither. The outers `deep_only` (a card held close across the frame of `shape`,
    only part of it in view) hold only the quads well inside them, taken as running on past
    the frame (`_run_on`)."""
    # Only the acceptable quads can hold another: the pairs are (N, outers).
    outer = np.flatnonzero(outer_ok)
    if len(outer) == 0:
        return np.zeros(len(quads), np.bool_)
    outers = quads[outer]
    close = deep_only[outer]
    if close.any():
        outers = outers.copy()
        outers[close] = _run_on(outers[close], shape[1], shape[0])
    depth = depth_inside(quads, outers)
    inside = depth >= -1.5
    area = areas(quads)
    bigger = area[outer][None, :] > 1.15 * area[:, None]
    # The field below a band is most of the card: a quad sharing sides with a much larger one
    # is the card itself, beside a stretch of background the larger one takes in.
    below_band = (crossed[:, None] & ~deep_only[outer][None, :]
                  & (area[outer][None, :] <= _NEST_BAND_AREA * area[:, None]))
    inner = inside & ((depth >= _NEST_DEPTH) | below_band)
    return np.asarray((inner & bigger).any(axis=1), np.bool_)


def _run_on(quads: F64, width: int, height: int) -> F64:
    """Quads (K, 4, 2) crossing a `width` x `height` frame with their sides on its border
    pushed out past it by their neighbours' length: the card held close as it runs on beyond
    the frame, so that a quad on its photo reaching past the frame's edge lies inside it."""
    out = quads.copy()
    x, y = quads[..., 0], quads[..., 1]
    for k in range(4):
        j = int(NEXT[k])
        on = (((np.abs(x[:, k] - x[:, j]) < 1.0) & ((x[:, k] < 1.0) | (x[:, k] >= width - 2.0)))
              | ((np.abs(y[:, k] - y[:, j]) < 1.0)
                 & ((y[:, k] < 1.0) | (y[:, k] >= height - 2.0))))
        out[on, k] += quads[on, k] - quads[on, PREV[k]]
        out[on, j] += quads[on, j] - quads[on, NEXT[j]]
    return out
