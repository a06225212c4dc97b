"""Stage 3, quads from two pairs of roughly parallel lines (the frame border counts as a line,
for a document reaching out of the frame), with their evidence and value.

Each side must be supported along most of its length (fingers may hide some); the value of a
quad is its support, minus its distance from a document's aspect after undoing perspective,
plus a little for size, minus a penalty where a side is crossed by its neighbours' edges
running on past the corners (the line under a card's coloured band, not its outline: a card's
sides end at its corners). The full penalty needs the band's outer edge: a supported line just
outside the side up to which both neighbours run, or neighbours running on far; crossings by
chance (fingers, the room) count a little.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .profiles import Profiles, band_support, span_support, support_past_ends
from .shape import F64, NEXT, PREV, Mask, areas, aspect_errors, order_many, stacked

_MIN_AREA_FRAC: Final = 0.02
_MAX_AREA_FRAC: Final = 0.97
_MIN_CORNER_DEG: Final = 55.0
_MAX_ASPECT: Final = 2.6


def _line_angles(lines: F64) -> F64:
    return np.asarray(np.arctan2(lines[:, 1], lines[:, 0]) % np.pi, np.float64)


def parallel_pairs(lines: F64, h: int, w: int) -> npt.NDArray[np.intp]:
    """Pairs of lines (P, 2) that may be opposite sides of a document."""
    n = len(lines)
    angle = _line_angles(lines)
    diff = np.abs(angle[:, None] - angle[None, :])
    diff = np.minimum(diff, np.pi - diff)
    ii, jj = _upper_pairs(n)
    # Opposite sides of a document in perspective: within 35 degrees, some pixels apart.
    centre = np.array([w / 2.0, h / 2.0])
    offset = lines[:, 0] * centre[0] + lines[:, 1] * centre[1] + lines[:, 2]
    sep = np.abs(offset[ii]
                 - np.sign((lines[ii, :2] * lines[jj, :2]).sum(axis=1))
                 * offset[jj])
    parallel = (diff[ii, jj] < np.radians(35.0)) & (sep > 0.08 * min(h, w))
    return stacked(ii[parallel], jj[parallel])


@functools.cache
def _upper_pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """`np.triu_indices(n, 1)`, made once per number of lines (read-only)."""
    ii, jj = np.triu_indices(n, 1)
    ii.setflags(write=False)
    jj.setflags(write=False)
    return ii, jj


def pairs_of_pairs(lines: F64, pairs: npt.NDArray[np.intp], table: F64,
                    border: Mask) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Quads bounded by two of the `pairs` of roughly parallel lines with at least three sides
    well supported (`table`: the support of each line between each pair, (L, P)), or with one
    frame `border` line in each pair and both other sides supported (a document over a corner
    of the frame), or with two opposite border lines and both other sides supported (a card
    held so close that it crosses two opposite edges of the frame): the line indices around
    them (Q, 4) and the pair that bounds each side (Q, 4)."""
    # (NaN, a line mostly outside the frame, compares false: not supported.)
    return _pairs_of_pairs(np.asarray(table >= _MIN_SIDE_SUPPORT, np.bool_),
                           np.asarray(pairs, np.int64), np.asarray(border, np.bool_),
                           _line_angles(lines), float(np.radians(40.0)))


@njit("UniTuple(int64[:, :], 2)(boolean[:, :], int64[:, :], boolean[:], float64[:], float64)",
      cache=True, nogil=True)
def _pairs_of_pairs(good: Mask, pairs: npt.NDArray[np.int64], border: Mask, angle: F64,
                    least_cross: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`pairs_of_pairs` with `good` (L, P): whether each line is well supported between each
    pair; the lines' `angle`s (mod pi), and the least angle between the two pairs. Per two
    pairs a < b, in order: a pair's lines "held" between the other pair's are those supported
    there; enough where 3 of the 4 are held, or each pair has a border line and the other
    line of each is held, or one pair is two border lines and the other pair's lines are
    both held between them; and the four lines distinct, the pairs crossing at `least_cross`
    or more."""
    n = len(pairs)
    on_border = np.zeros(n, np.bool_)
    edges = np.zeros(n, np.bool_)
    for p in range(n):
        on_border[p] = border[pairs[p, 0]] or border[pairs[p, 1]]
        edges[p] = border[pairs[p, 0]] and border[pairs[p, 1]]
    # (Grown as needed: most pairs of pairs make no quad.)
    around = np.empty((64, 4), np.int64)
    bounds = np.empty((64, 4), np.int64)
    count = 0
    for a in range(n):
        l1, l2 = pairs[a, 0], pairs[a, 1]
        for b in range(a + 1, n):
            l3, l4 = pairs[b, 0], pairs[b, 1]
            # How many of a's lines are held between b's, and the other way round.
            a_in_b = np.int64(good[l1, b]) + np.int64(good[l2, b])
            b_in_a = np.int64(good[l3, a]) + np.int64(good[l4, a])
            enough = a_in_b + b_in_a >= 3
            enough |= (on_border[a] and on_border[b]
                       and a_in_b + on_border[a] + b_in_a + on_border[b] == 4)
            enough |= (edges[a] and b_in_a == 2) or (edges[b] and a_in_b == 2)
            if not enough or l1 in (l3, l4) or l2 in (l3, l4):
                continue
            cross = abs(angle[l1] - angle[l3])
            if not min(cross, np.pi - cross) > least_cross:
                continue
            if count == len(around):
                around = np.concatenate((around, np.empty_like(around)))
                bounds = np.concatenate((bounds, np.empty_like(bounds)))
            # Around the quad: first of pair a, first of pair b, second of pair a, second of
            # b; the sides on pair a's lines end on pair b's and the other way round.
            around[count, 0], around[count, 1] = l1, l3
            around[count, 2], around[count, 3] = l2, l4
            bounds[count, 0], bounds[count, 1], bounds[count, 2], bounds[count, 3] = b, a, b, a
            count += 1
    return around[:count].copy(), bounds[:count].copy()


def _corners(prof: Profiles, around: npt.NDArray[np.intp]) -> F64:
    """Corner k of each quad where side k-1 meets side k (side k lies on line around[:, k])."""
    return np.asarray(prof.meet[around[:, PREV], around], np.float64)


_UNSEEN_SIDE: Final = 0.35
_MIN_SIDE_SUPPORT: Final = 0.55
_MIN_SCORE: Final = 0.6


@dataclass
class _Evidence:
    support: F64  # (Q, 4), NaN for a side mostly outside the frame
    beyond: F64  # (Q, 4, 2): support of the side's own edge continuing past its start / end
    # (Q, 4): support of the best line parallel to each side just outside it, between its
    # neighbours (a card's outline beyond its band); 1 where not looked for.
    band: F64


def side_ends(prof: Profiles, around: npt.NDArray[np.intp]) -> tuple[F64, F64]:
    """Stations of the start and the end of each side of each quad (Q, 4) along its line."""
    return (np.asarray(prof.station[around, around[:, PREV]], np.float64),
            np.asarray(prof.station[around, around[:, NEXT]], np.float64))


def plausible_many(quads: F64, area_frame: float, area: F64 | None = None) -> Mask:
    """Convex, of document size, no corner sharper than 55 deg, aspect not beyond any document
    seen in perspective; for quads (N, 4, 2) in either winding (`area`: theirs, if known)."""
    area = areas(quads) if area is None else area
    return _plausible(np.asarray(quads, np.float64), np.asarray(area, np.float64),
                      _MIN_AREA_FRAC * area_frame, _MAX_AREA_FRAC * area_frame,
                      _CORNER_COS, _MAX_ASPECT)


_CORNER_COS: Final = float(np.cos(np.radians(_MIN_CORNER_DEG)))


@njit("boolean[:](float64[:, :, :], float64[:], float64, float64, float64, float64)",
      cache=True, nogil=True)
def _plausible(quads: F64, area: F64, least: float, most: float, corner_cos: float,
               max_aspect: float) -> Mask:
    """`plausible_many` of quads (N, 4, 2) of `area` (N,): convex, of an area from `least` to
    `most`, every corner's |cos| at most `corner_cos`, the ratio of the mean lengths of
    opposite sides at most `max_aspect`."""
    out = np.zeros(len(quads), np.bool_)
    ex, ey, length = np.empty(4), np.empty(4), np.empty(4)
    for q in range(len(quads)):
        if not least <= area[q] <= most:
            continue
        for k in range(4):
            ex[k] = quads[q, (k + 1) % 4, 0] - quads[q, k, 0]
            ey[k] = quads[q, (k + 1) % 4, 1] - quads[q, k, 1]
            length[k] = np.hypot(ex[k], ey[k]) + 1e-9
        # Convex: the turn at every corner has one sign.
        turns = 0
        for k in range(4):
            cross = ex[k] * ey[(k + 1) % 4] - ey[k] * ex[(k + 1) % 4]
            turns += 1 if cross > 0 else -1 if cross < 0 else 0
        if abs(turns) != 4:
            continue
        angled = True
        for k in range(4):
            before = (k + 3) % 4
            cos = -(ex[k] * ex[before] + ey[k] * ey[before]) / (length[k] * length[before])
            angled &= abs(cos) <= corner_cos
        across, down = (length[0] + length[2]) / 2, (length[1] + length[3]) / 2
        aspect = max(across, down) / max(min(across, down), 1e-6)
        out[q] = angled and aspect <= max_aspect
    return out


ASPECT_SLACK: Final = 0.05
_ASPECT_WEIGHT: Final = 1.0
_AREA_WEIGHT: Final = 0.1
_INNER_WEIGHT: Final = 0.6
# Where no line outside a crossed side is seen (its neighbours run on by chance: fingers,
# the room), its crossing counts only up to this.
_BAND_FLOOR: Final = 0.4
# A band's outer line lies past the side by this share of the neighbours' length at most.
_BAND_REACH: Final = 0.6
# ... and the neighbours' edges run on along this share of the way to it.
_BAND_EDGE_RUN: Final = 0.6
# Neighbours' edges running on along this share of the way past the band's reach: the side
# crosses something larger than a band.
_BAND_RUN: Final = 0.6
# A quad closed by the frame border only stands in for a document reaching out of the frame.
_CLIPPED_PENALTY: Final = 0.1


def _first_tests(prof: Profiles, around: npt.NDArray[np.intp], border: Mask, support: F64,
                 h: int, w: int, dark: bool = False) -> Mask:
    """The quads on lines `around` (Q, 4) whose sides' `support` (Q, 4) is enough, with at
    most two sides on the frame `border` (L,) and corners where their lines meet, in a
    generous frame about an `h` x `w` one (1.5 times its long side from its centre).

    Enough: at least three sides seen, each of those well supported, and on average; or two
    sides on the frame border (two neighbouring ones, a document over a corner of the frame;
    or two opposite ones, a card crossing it) and both others strongly supported
    (`_CORNER_SIDE`; `_CORNER_SIDE_DARK` in a `dark` frame)."""
    return _tested(support, np.asarray(around, np.int64), border, prof.meets, prof.meet,
                   w / 2, h / 2, 1.5 * max(w, h),
                   np.array([_MIN_SIDE_SUPPORT, _MIN_SCORE,
                             _CORNER_SIDE_DARK if dark else _CORNER_SIDE]))


@njit("boolean[:](float64[:, :], int64[:, :], boolean[:], boolean[:, :], float64[:, :, :], "
      "float64, float64, float64, float64[:])", cache=True, nogil=True)
def _tested(support: F64, around: npt.NDArray[np.int64], border: Mask, meets: Mask,
            meet: F64, cx: float, cy: float, far: float, least: F64) -> Mask:
    """`_first_tests` with the lines' `meets` and `meet` (L, L) of `Profiles`, the frame's
    centre and how `far` from it a corner may lie (each way), and `least`: the support of a
    side seen, of all seen on average and of each of two seen (`_MIN_SIDE_SUPPORT`,
    `_MIN_SCORE`, `_CORNER_SIDE`). (NaN, a side mostly outside the frame, is not seen.)"""
    side, mean, strongly = least[0], least[1], least[2]
    out = np.zeros(len(around), np.bool_)
    for q in range(len(around)):
        n_seen, good, strong, on_border, total = 0, 0, 0, 0, 0.0
        for k in range(4):
            value = support[q, k]
            filled = 0.0
            if not np.isnan(value):
                n_seen += 1
                filled = value
            total += filled
            good += filled >= side
            strong += filled >= strongly
            on_border += border[around[q, k]]
        enough = ((n_seen >= 3 and good >= 3 and total / max(n_seen, 1) >= mean)
                  or (n_seen == 2 and strong == 2 and on_border == 2))
        if not enough or on_border > 2:
            continue
        meeting = True
        for k in range(4):
            a, b = around[q, (k + 3) % 4], around[q, k]
            meeting &= meets[a, b] and max(abs(meet[a, b, 0] - cx),
                                            abs(meet[a, b, 1] - cy)) <= far
        out[q] = meeting
    return out


# A quad with two sides on the frame's border (a card over a corner of the frame, or held close
# across it) needs both its other sides supported this well. (At 0.85, cards held up with a
# finger over one of those sides were lost, their photo or nothing found instead: at 0.8, on 11
# evaluation sets (3,300 scenes with a document, 1,100 without), 12 such cards are found and one
# page lost, mean IoU sum +5.9; false detections 65 -> 67, both in dark frames, where it stays
# at 0.85: no false detection added. 0.82: +3.4; 0.75: no more found.)
_CORNER_SIDE: Final = 0.8
_CORNER_SIDE_DARK: Final = 0.85


def crossing(on_border: Mask) -> Mask:
    """Quads (Q, 4: which sides lie on the frame border) with two opposite sides on it: a
    card held so close that it crosses the frame (top and bottom, or left and right)."""
    return np.asarray((on_border & on_border[:, NEXT[NEXT]]).any(axis=1), np.bool_)


# A card crossing the frame's height (width) is at least this share of it wide (high): its
# long side spans the frame, and a document's aspect is at most about 1.6, with some
# foreshortening. A narrower band between two lines is a door frame, a cable or a stripe.
_CROSSING_MIN_WIDTH: Final = 0.48
# ... and at most this share: wider, its short side spans the frame too, and its long side
# (1.6 times that) would reach past the frame's other edges (a door's two posts, wider).
_CROSSING_MAX_WIDTH: Final = 1.3


def _values(quads: F64, ev: _Evidence, width: float, height: float, clipped: Mask,
            area: F64) -> tuple[F64, F64]:
    """Selection value of each quad and its distance from a document's aspect (0 for quads
    `clipped` by the frame border, whose aspect says nothing)."""
    support = ev.support
    seen = ~np.isnan(support)
    evidence = np.where(seen, support, _UNSEEN_SIDE).mean(axis=1)
    ordered = order_many(quads)
    errors = np.where(clipped, 0.0, aspect_errors(ordered, width, height))
    # A document's sides end at its corners. Where both neighbours of a side run on past it,
    # that side is a line across the document (a printed band, a panel), not its outline.
    inner = banded(ev.beyond, ev.band).max(axis=1)
    value = (shaped(evidence, errors, area, width, height)
             - _INNER_WEIGHT * np.maximum(inner - 0.3, 0.0) - _CLIPPED_PENALTY * clipped)
    return np.asarray(value, np.float64), errors


def shaped(base: F64, errors: F64, area: F64, width: float, height: float) -> F64:
    """`base` less what quads' shapes take from their value and plus what they add: their
    distance `errors` from a document's aspect beyond `ASPECT_SLACK`, and their `area` in a
    `width` x `height` frame (a larger quad is the more prominent document)."""
    aspect = np.maximum(errors - ASPECT_SLACK, 0.0)
    size = np.log(np.maximum(area, 1e-9) / (width * height))
    return np.asarray(base - _ASPECT_WEIGHT * aspect + _AREA_WEIGHT * size, np.float64)


@dataclass
class Scored:
    """Quads by their lines (Q, 4: side k on line around[:, k]) with their evidence."""

    around: npt.NDArray[np.intp]
    corners: F64
    support: F64
    first: F64  # (Q, 4): station of each side's start along its line
    second: F64  # and of its end
    beyond: F64
    band: F64
    value: F64
    errors: F64
    clipped: Mask

    def take(self, idx: npt.NDArray[np.intp]) -> Scored:
        return Scored(self.around[idx], self.corners[idx], self.support[idx], self.first[idx],
                       self.second[idx], self.beyond[idx], self.band[idx], self.value[idx],
                       self.errors[idx], self.clipped[idx])


def score(prof: Profiles, around: npt.NDArray[np.intp], border: Mask, h: int, w: int,
          support: F64 | None = None, conjectured: Mask | None = None,
          dark: bool = False) -> Scored | None:
    """Corners, evidence and value of the supported, plausible quads among `around`, whose
    sides' `support` (Q, 4) may be given. Lines `conjectured` (L,) are not taken for the
    outline beyond another quad's band (`_band_lines`). `dark`: the frame is dark
    (`_first_tests`)."""
    if support is None:
        support = span_support(prof, around, *side_ends(prof, around))
    # Cheap tests first: the edge evidence, corners inside a generous frame, of document size.
    fine = _first_tests(prof, around, border, support, h, w, dark)
    around, support = around[fine], support[fine]
    corners = _corners(prof, around)
    area = areas(corners)
    fine = (area >= _MIN_AREA_FRAC * h * w) & (area <= _MAX_AREA_FRAC * h * w)
    across = crossing(border[around])
    if across.any():
        # A quad on the frame's top and bottom lines (normals along y) spans its height, and
        # is as wide as its area over that height; on its left and right lines, the other way.
        on_top = (border[around] & (np.abs(prof.lines[around, 1]) > 0.5)).any(axis=1)
        spanned = np.where(on_top, h, w)
        fine &= ~across | ((area >= _CROSSING_MIN_WIDTH * spanned * spanned)
                           & (area <= _CROSSING_MAX_WIDTH * spanned * spanned))
    fine[fine] = plausible_many(corners[fine], h * w, area[fine])
    if not fine.any():
        return None
    around, corners, support, area = around[fine], corners[fine], support[fine], area[fine]
    ts, te = side_ends(prof, around)
    # Sides run with their line's direction or against it.
    first, second = ts, te
    beyond = support_past_ends(prof, around, first, second)
    clipped = np.asarray(border[around].any(axis=1), np.bool_)
    band = _band_lines(prof, around, beyond, conjectured)
    value, errors = _values(corners, _Evidence(support, beyond, band), w, h, clipped, area)
    return Scored(around, corners, support, first, second, beyond, band, value, errors,
                   clipped)


def _band_lines(prof: Profiles, around: npt.NDArray[np.intp], beyond: F64,
                conjectured: Mask | None = None) -> F64:
    """Per quad and side (Q, 4), for the sides both of whose neighbours run on past it, the
    support of the best line just outside the side that both neighbours meet within
    `_BAND_REACH` of their length past it, between them: the card's outline beyond a printed
    band (1 for a line mostly outside the frame, which may be it). 1 where the neighbours'
    edges run on well past the band's reach (the side crosses something larger) and for the
    sides not crossed (not looked at). Lines `conjectured` (L,; closing a U where its arms'
    edges end, `completion`) are not looked for: they are evidence of their own quads only."""
    excluded = np.zeros(len(prof.lines), np.bool_) if conjectured is None else conjectured
    return band_support(prof, around, crossed(beyond) > _BAND_FLOOR, _BAND_REACH,
                        _BAND_EDGE_RUN, _BAND_RUN, excluded)


def banded(beyond: F64, band: F64) -> F64:
    """`crossed`, but only as far as a line outside the side is seen (a band's outer edge),
    or up to `_BAND_FLOOR` where none is."""
    return np.asarray(np.minimum(crossed(beyond), np.maximum(band, _BAND_FLOOR)), np.float64)


def crossed(beyond: F64) -> F64:
    """Per quad and side (Q, 4), how far both its neighbours' edges run on past its corners."""
    return np.asarray(np.minimum(beyond[:, PREV, 1], beyond[:, NEXT, 0]), np.float64)
