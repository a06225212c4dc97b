"""Stage 2, edge profiles: along each line, stations 2 px apart record whether an edge of each
polarity (grey and saturation) crosses the line there, as cumulative counts, so the support of
any stretch of the line is two look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numba import njit

from .edges import Work
from .shape import F64, Mask, stacked

STEP: Final = 2.0
_END_TRIM: Final = 0.08


@dataclass
class Profiles:
    """Edge evidence along each line, as cumulative counts over stations `STEP` px apart."""

    lines: F64  # (L, 3)
    origin: F64  # (L, 2): the point of the line nearest the frame centre
    direction: F64  # (L, 2)
    reach: float  # stations run from -reach to +reach px about the origin
    hits: npt.NDArray[np.int32]  # (M, L, T + 1) cumulative, per map: grey +/-, saturation +/-
    valid: npt.NDArray[np.int32]  # (L, T + 1) cumulative count of stations inside the frame
    # Computed on construction: where line i meets line j (L, L, 2), whether they meet at all
    # (L, L), and the station of that point along line i (L, L).
    meet: F64 = field(init=False)
    meets: Mask = field(init=False)
    station: F64 = field(init=False)

    def __post_init__(self) -> None:
        self.meet, self.meets, self.station = _meetings(
            np.asarray(self.lines, np.float64), np.asarray(self.origin, np.float64),
            np.asarray(self.direction, np.float64), self.reach, STEP)

    def point_at(self, line: npt.NDArray[np.intp], station: npt.NDArray[np.floating[Any]] |
                 npt.NDArray[np.intp]) -> F64:
        """The points (..., 2) at `station` along each of `line` (...): `station`'s inverse."""
        return np.asarray(self.origin[line] + (station[..., None] * STEP - self.reach)
                          * self.direction[line], np.float64)


@njit("Tuple((float64[:, :, :], boolean[:, :], float64[:, :]))(float64[:, :], "
      "float64[:, :], float64[:, :], float64, float64)", cache=True, nogil=True)
def _meetings(lines: F64, origin: F64, direction: F64, reach: float,
              step: float) -> tuple[F64, Mask, F64]:
    """`Profiles.meet`, `meets` and `station` of `lines` (L, 3) through `origin` along
    `direction` (L, 2), their stations `step` px apart from -`reach`: where line i meets line
    j (homogeneous coordinates' cross product; where they are parallel, |z| <= 1e-9, the
    cross product's x and y as they are), whether they do, and the station of that point
    along line i."""
    n = len(lines)
    meet = np.empty((n, n, 2))
    meets = np.empty((n, n), np.bool_)
    station = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            x = lines[i, 1] * lines[j, 2] - lines[i, 2] * lines[j, 1]
            y = lines[i, 2] * lines[j, 0] - lines[i, 0] * lines[j, 2]
            z = lines[i, 0] * lines[j, 1] - lines[i, 1] * lines[j, 0]
            meets[i, j] = abs(z) > 1e-9
            zs = z if meets[i, j] else 1.0
            meet[i, j, 0], meet[i, j, 1] = x / zs, y / zs
            along = ((meet[i, j, 0] - origin[i, 0]) * direction[i, 0]
                     + (meet[i, j, 1] - origin[i, 1]) * direction[i, 1])
            station[i, j] = (along + reach) / step
    return meet, meets, station


def profiles(work: Work, lines: F64, n_real: int) -> Profiles:
    """Profiles of `lines`; those from `n_real` on lie on the frame border and see nothing."""
    return Profiles(lines, *profile_parts(work, lines, n_real))


def profile_parts(work: Work, lines: F64, n_real: int) -> tuple[
        F64, F64, float, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The fields of `profiles(work, lines, n_real)` after its lines (origin, direction, reach,
    hits, valid), without working out where the lines meet: for lines to be joined to others
    (`Profiles.__post_init__` works that out for them all)."""
    h, w = work.gray.shape
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    n = lines[:, :2]
    dist = n[:, 0] * centre[0] + n[:, 1] * centre[1] + lines[:, 2]
    origin = centre[None, :] - dist[:, None] * n
    direction = stacked(-n[:, 1], n[:, 0])
    reach = float(np.ceil(np.hypot(w, h) / 2 / STEP) * STEP)
    n_t = len(np.arange(-reach, reach + 0.5, STEP))
    (gx, gy), (sx, sy) = work.gradients
    hits, valid = _crossings(gx, gy, sx, sy, np.asarray(work.strengths, np.float32), origin,
                             direction, n_real, len(lines), reach, n_t)
    return origin, direction, reach, hits, valid


@njit("Tuple((int32[:, :, :], int32[:, :]))(float32[:, :], float32[:, :], float32[:, :], "
      "float32[:, :], float32[:], float64[:, :], float64[:, :], int64, int64, float64, int64)",
      cache=True, nogil=True)
def _crossings(gx: npt.NDArray[np.float32], gy: npt.NDArray[np.float32],
               sx: npt.NDArray[np.float32], sy: npt.NDArray[np.float32],
               strengths: npt.NDArray[np.float32], origin: F64, direction: F64, n_real: int,
               n_lines: int, reach: float, n_t: int) -> tuple[
                   npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The cumulative counts of `Profiles.hits` and `Profiles.valid` for lines through
    `origin` along `direction` (L, 2), of which the first `n_real` are sampled: at each
    station (`n_t` of them, `STEP` px apart from -`reach`), at the nearest pixel on the line
    and 1 px either side of it, whether the grey (`gx`, `gy`) or saturation (`sx`, `sy`)
    gradient crosses the line (its component across the line, either way, above its channel's
    `strengths` and above 0.6 of its L1 norm, so that texture running along it does not
    count); and whether the station's pixel on the line is inside the frame (not on its
    outermost pixels)."""
    h, w = gx.shape
    hits = np.zeros((4, n_lines, n_t + 1), np.int32)
    valid = np.zeros((n_lines, n_t + 1), np.int32)
    share = np.float32(0.6)
    grey, sat = strengths[0], strengths[1]
    for line in range(n_real):
        ox, oy = origin[line, 0], origin[line, 1]
        dx, dy = direction[line, 0], direction[line, 1]
        # The line's normal (a, b) is (dy, -dx).
        nx, ny = dy, -dx
        nx32, ny32 = np.float32(nx), np.float32(ny)
        for k in range(n_t):
            t = -reach + k * STEP
            px, py = ox + t * dx, oy + t * dy
            # Crossings of the grey and saturation edges, each way.
            grey_up = grey_down = sat_up = sat_down = seen = False
            for off in (-1.0, 0.0, 1.0):
                x, y = np.rint(px + off * nx), np.rint(py + off * ny)
                if not (1 <= x < w - 1 and 1 <= y < h - 1):
                    continue
                seen |= off == 0.0
                xi, yi = int(x), int(y)
                ax, ay = gx[yi, xi], gy[yi, xi]
                across = ax * nx32 + ay * ny32
                least = max(share * (abs(ax) + abs(ay)), grey)
                grey_up |= across > least
                grey_down |= across < -least
                ax, ay = sx[yi, xi], sy[yi, xi]
                across = ax * nx32 + ay * ny32
                least = max(share * (abs(ax) + abs(ay)), sat)
                sat_up |= across > least
                sat_down |= across < -least
            hits[0, line, k + 1] = hits[0, line, k] + grey_up
            hits[1, line, k + 1] = hits[1, line, k] + grey_down
            hits[2, line, k + 1] = hits[2, line, k] + sat_up
            hits[3, line, k + 1] = hits[3, line, k] + sat_down
            valid[line, k + 1] = valid[line, k] + seen
    return hits, valid


def span_support(prof: Profiles, line: npt.NDArray[np.intp], start: F64, end: F64) -> F64:
    """Support of the stretches of `line` from station `start` to `end` (broadcast together),
    less `_END_TRIM` at each end: the largest share of stations where an edge of one map and
    polarity crosses, NaN for a stretch mostly outside the frame."""
    line, start, end = np.broadcast_arrays(line, start, end)
    support = _span_support(prof.hits, prof.valid, line.astype(np.int64).ravel(),
                            start.astype(np.float64).ravel(), end.astype(np.float64).ravel())
    return support.reshape(line.shape)


@njit(cache=True, nogil=True, inline="always")
def _station(at: float, last: int) -> int:
    """The station nearest `at`, within the profile's stations 0 to `last`."""
    return int(min(max(np.rint(at), 0.0), last))


@njit(cache=True, nogil=True, inline="always")
def _crossed(hits: npt.NDArray[np.int32], valid: npt.NDArray[np.int32], line: int, a: int,
             b: int) -> tuple[int, int]:
    """Between stations `a` and `b` of `line`: the stations where the map crossing it most
    often crosses it, and the stations inside the frame (of the cumulative counts `hits`
    (M, L, T + 1) and `valid` (L, T + 1) of `Profiles`)."""
    most = hits[0, line, b] - hits[0, line, a]
    for m in range(1, hits.shape[0]):
        most = max(most, hits[m, line, b] - hits[m, line, a])
    return most, valid[line, b] - valid[line, a]


@njit(cache=True, nogil=True, inline="always")
def _stretch_support(hits: npt.NDArray[np.int32], valid: npt.NDArray[np.int32], line: int,
                     start: float, end: float) -> float:
    """`span_support` of one stretch of `line` from station `start` to `end`."""
    last = valid.shape[1] - 1
    lo, hi = min(start, end), max(start, end)
    trim = _END_TRIM * (hi - lo)
    a, b = _station(lo + trim, last), _station(hi - trim, last)
    most, seen = _crossed(hits, valid, line, a, b)
    return most / max(seen, 1.0) if seen >= 0.3 * max(b - a, 1) else np.nan


@njit("float64[:](int32[:, :, :], int32[:, :], int64[:], float64[:], float64[:])", cache=True,
      nogil=True)
def _span_support(hits: npt.NDArray[np.int32], valid: npt.NDArray[np.int32],
                  line: npt.NDArray[np.int64], start: F64, end: F64) -> F64:
    """`span_support` of stretches (K,) of `line` from `start` to `end`, in the cumulative
    counts `hits` (M, L, T + 1) and `valid` (L, T + 1) of `Profiles`."""
    out = np.empty(len(line))
    for k in range(len(line)):
        out[k] = _stretch_support(hits, valid, line[k], start[k], end[k])
    return out


def support_past_ends(prof: Profiles, around: npt.NDArray[np.intp], first: F64,
                      second: F64) -> F64:
    """Edge support past each end of sides on lines `around` from station `first` to
    `second` (Q, 4): per side and end (Q, 4, 2: past its start, past its end), over 15 % of
    the side (at least 4 px) from 2 px beyond the end, the largest share of stations where one
    map crosses, of those in the frame (0 where fewer than half of them are)."""
    return _past_ends(prof.hits, prof.valid, around.astype(np.int64), first, second)


@njit("float64[:, :, :](int32[:, :, :], int32[:, :], int64[:, :], float64[:, :], float64[:, :])",
      cache=True, nogil=True)
def _past_ends(hits: npt.NDArray[np.int32], valid: npt.NDArray[np.int32],
               around: npt.NDArray[np.int64], first: F64, second: F64) -> F64:
    """`support_past_ends` in the cumulative counts `hits` (M, L, T + 1) and `valid`
    (L, T + 1) of `Profiles`."""
    last = valid.shape[1] - 1
    gap, least = 2.0 / STEP, 4.0 / STEP
    out = np.empty((len(around), 4, 2))
    for q in range(len(around)):
        for k in range(4):
            sign = 1.0 if second[q, k] >= first[q, k] else -1.0
            ext = max(least, 0.15 * abs(second[q, k] - first[q, k]))
            for end in range(2):
                anchor, way = (first[q, k], -sign) if end == 0 else (second[q, k], sign)
                p, r = anchor + way * gap, anchor + way * (gap + ext)
                a, b = _station(min(p, r), last), _station(max(p, r), last)
                most, seen = _crossed(hits, valid, around[q, k], a, b)
                out[q, k, end] = most / max(seen, 1) if seen >= 0.5 * max(b - a, 1) else 0.0
    return out


def band_support(prof: Profiles, around: npt.NDArray[np.intp], crossed: Mask, reach: float,
                 edge_run: float, onward_run: float, excluded: Mask) -> F64:
    """Per quad on lines `around` (Q, 4) and side `crossed` by both its neighbours' edges
    (Q, 4), the support of the best line just outside the side that both neighbours meet
    within `reach` of their length past it (past 0.03 of it, and not a line `excluded` (L,)),
    where the neighbours' edges run on up to it (`edge_run` of the way or more; a stretch
    mostly outside the frame counts as running on), between the neighbours (1 for a line
    mostly outside the frame); 0 where none is. 1 where the neighbours' edges run on
    `onward_run` or more of the way past that reach (the side crosses something larger), and
    for the sides not crossed. (See `quads._band_lines`.)"""
    return _bands(prof.hits, prof.valid, prof.station, prof.meets, around.astype(np.int64),
                  crossed, excluded, reach, edge_run, onward_run)


@njit("float64[:, :](int32[:, :, :], int32[:, :], float64[:, :], boolean[:, :], int64[:, :], "
      "boolean[:, :], boolean[:], float64, float64, float64)", cache=True, nogil=True)
def _bands(hits: npt.NDArray[np.int32], valid: npt.NDArray[np.int32], station: F64,
           meets: Mask, around: npt.NDArray[np.int64], crossed: Mask, excluded: Mask,
           reach: float, edge_run: float, onward_run: float) -> F64:
    """`band_support` in the cumulative counts `hits` (M, L, T + 1) and `valid` (L, T + 1)
    and the `station` and `meets` (L, L) of `Profiles`."""
    out = np.ones(around.shape)
    for q in range(len(around)):
        for j in range(4):
            if not crossed[q, j]:
                continue
            side, opposite = around[q, j], around[q, (j + 2) % 4]
            before, after = around[q, (j + 3) % 4], around[q, (j + 1) % 4]
            at_before, at_after = station[before, side], station[after, side]
            span_before = at_before - station[before, opposite]
            span_after = at_after - station[after, opposite]
            # Edges running on past the band's reach: the side crosses something larger.
            # (NaN, a stretch mostly outside the frame, compares false: not running on.)
            if (_stretch_support(hits, valid, before, at_before,
                                 at_before + reach * span_before) >= onward_run
                    and _stretch_support(hits, valid, after, at_after,
                                         at_after + reach * span_after) >= onward_run):
                continue
            by_before = span_before if abs(span_before) > 1e-9 else 1e-9
            by_after = span_after if abs(span_after) > 1e-9 else 1e-9
            found = 0.0
            for line in range(len(station)):
                if excluded[line] or not (meets[before, line] and meets[after, line]):
                    continue
                past_before = (station[before, line] - at_before) / by_before
                past_after = (station[after, line] - at_after) / by_after
                if not (0.03 < past_before < reach and 0.03 < past_after < reach):
                    continue
                # The neighbours' edges run on up to that line (a stretch mostly outside the
                # frame, NaN, counts as running on).
                if (_stretch_support(hits, valid, before, at_before,
                                     station[before, line]) < edge_run
                        or _stretch_support(hits, valid, after, at_after,
                                            station[after, line]) < edge_run):
                    value = 0.0
                else:
                    support = _stretch_support(hits, valid, line, station[line, before],
                                               station[line, after])
                    value = 1.0 if np.isnan(support) else support
                found = max(found, value)
            out[q, j] = found
    return out


def between_pairs(prof: Profiles, pairs: npt.NDArray[np.intp]) -> F64:
    """The support (`span_support`) of every line between the two lines of every pair (P, 2),
    (L, P): each side of a quad lies on one line between the two lines of a pair, so each is
    looked up once."""
    every = np.arange(len(prof.lines))[:, None]
    # (Looked up in the flat array: `take` is quicker than indexing with a pair of arrays.)
    at = every * len(prof.lines)
    return span_support(prof, every, prof.station.take(at + pairs[None, :, 0]),
                        prof.station.take(at + pairs[None, :, 1]))
