"""Stage 5, the final checks: the first snapped candidate that still runs along straight edges
with enough support (not along two tangents to a curved outline, as a quad boxing a head does),
shows a step across each side (not a thin line) and, wholly in view, a document's aspect, is
returned.
"""

from __future__ import annotations

import enum
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from numba import njit, types

from .edges import Work
from .refine import STATIONS, Strengths, consensus, edge_points
from .shape import (
    F64,
    NEXT,
    PREV,
    Mask,
    aspect_errors,
    in_frame,
    nan_as,
    order_many,
    side_normals,
    stacked,
    stations,
)

_TIGHT_BAND: Final = (-1.0, 0.0, 1.0)
MIN_FINAL_SCORE: Final = 0.6
MIN_FINAL_SCORE_3: Final = 0.8
_MIN_STRAIGHT_SHARE: Final = 0.4
_STRAIGHT_STRENGTH: Final = 6.0
# `_edge_share`: its search window (+- px, full resolution) and the least share of a side
# that is not a tangent to a curve; a side with this share of its stations on its line and
# peaking well inside the narrow window of `straight_sides` needs no wider search.
_EDGE_REACH: Final = 5.0
_MIN_EDGE_SHARE: Final = 0.32
_SURE_SHARE: Final = 0.6


def final_score(work: Work, quads: F64) -> tuple[F64, F64]:
    """Tight support of quads (N, 4, 2) in the shrunk frame: score (a side outside the frame
    counts half) and per-side support."""
    support = _support(work, quads, _TIGHT_BAND, 24)
    score = nan_as(support, 0.5).mean(axis=1)
    return np.asarray(score, np.float64), support


_MIN_SIDE_FINAL: Final = 0.1
_MIN_SIDE_FINAL_2: Final = 0.65
# `verified`: a second side seen along this much of it at least (14 of its 24 stations) may
# pass where the quad stands out clearly from what lies around it (the caller's to tell): a
# card held up with fingers over two of its sides.
PARTLY_SEEN_SIDE: Final = 0.58
_MIN_REACH: Final = 0.5
_MAX_PAST: Final = 0.3
_STEP_OFFSET: Final = 3.0
_MIN_STEP_SHARE: Final = 0.1
_MAX_FINAL_ASPECT_ERROR: Final = 0.2


def _step_shares(work: Work, quad: F64, samples: int = 24) -> F64:
    """Per side of a quad (4, 2) in the shrunk frame, the share of stations where the grey or
    the saturation differs across the side (`_STEP_OFFSET` px inside against outside) by a
    quarter of the edge strength; NaN for a side mostly outside the frame. An outline separates
    the document from what lies around it; a thin line (a ruled line, a cable, a door frame's
    strip) has the same surface on both sides and gives no step."""
    h, w = work.gray.shape
    t = stations(0.1, 0.9, samples)
    d, normal = side_normals(quad)
    pts = quad[:, None, :] + t[None, :, None] * d[:, None, :]
    probe = pts[None] + np.array([-_STEP_OFFSET, _STEP_OFFSET])[:, None, None, None] * normal[
        None, :, None, :]
    xi, yi = np.rint(probe[..., 0]).astype(np.intp), np.rint(probe[..., 1]).astype(np.intp)
    inside = ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)).all(axis=0)
    # (np.clip on these small arrays costs more than the two ufuncs it wraps.)
    flat = np.minimum(np.maximum(yi, 0), h - 1) * w + np.minimum(np.maximum(xi, 0), w - 1)
    least = 0.25 * work.strengths[0]
    step = np.zeros(inside.shape, np.bool_)
    for channel in (work.gray, work.sat):
        v = channel.ravel().take(flat).astype(np.float32)
        step |= np.abs(v[0] - v[1]) > least
    seen = inside.sum(axis=1)
    share = (step & inside).sum(axis=1) / np.maximum(seen, 1)
    return np.asarray(np.where(seen >= 0.3 * samples, share, np.nan), np.float64)


# `colour_steps`: where the two sides' colours are read (px either side of the line, in the
# shrunk frame: beyond a thin line's own width), the stations along the side, and the
# stretches the side is cut into (a finger over one of them does not decide).
_COLOUR_OFFSETS: Final = np.array([4.0, 5.0, 6.0, 7.0, 8.0])
_COLOUR_PROBES: Final = np.concatenate([-_COLOUR_OFFSETS[::-1], _COLOUR_OFFSETS])
_COLOUR_STATIONS: Final = 16
_COLOUR_PIECES: Final = 4
# The least colour step (distance of mean BGR, 0-441) across each side of a quad crossing the
# frame.
MIN_CROSSING_STEP: Final = 30.0
# The colour step both sides of a quad crossing the frame show for it to be a card held close:
# it then holds the quads inside it (its photo, `candidates`) and is judged on its two sides
# (`two_sided`). At 60, a band of a brick wall between two mortar lines held a card
# lying on the wall; a KPJ's green band on a brown desk shows 100.
HELD_CLOSE_STEP: Final = 80.0


def colour_steps(work: Work, quads: F64) -> F64:
    """Per quad (N, 4, 2) in the shrunk frame and side, how different the surfaces on its two
    sides are: the distance between the mean colours 4-8 px outside and inside it, over each
    quarter of the side, the median of the quarters; NaN for a side mostly outside the frame.

    A document's side separates it from what lies around it. A line across one surface (a
    brick wall's mortar, a cable, a door frame's strip, a ruled line) has the same surface on
    both sides once its own width is passed, whatever its pixels' variation: averaged along
    the side, the colours match."""
    quads = np.asarray(quads, np.float64)
    d, normal = side_normals(quads)
    return _colour_steps(work.bgr, quads, d, normal, _COLOUR_STATION_AT, _COLOUR_PROBES,
                         _COLOUR_PIECES)


_COLOUR_STATION_AT: Final = stations(0.1, 0.9, _COLOUR_STATIONS)


@njit(types.float64[:, :](types.uint8[:, :, :], types.float64[:, :, :],
                          types.float64[:, :, :], types.float64[:, :, :],
                          types.Array(types.float64, 1, "A", readonly=True),
                          types.float64[:], types.int64), cache=True, nogil=True)
def _colour_steps(bgr: npt.NDArray[np.uint8], quads: F64, d: F64, normal: F64, t: F64,
                  probes: F64, pieces: int) -> F64:
    """`colour_steps` of `quads` (N, 4, 2) in the frame `bgr`, whose sides are `d` and their
    outward normals `normal` (N, 4, 2): at stations `t` along each side (shares of its
    length), the colours at `probes` px along the normal (the first half outside, the second
    inside), over `pieces` stretches of the side. The sums are of whole numbers, exact in
    float32; the steps are worked out in float32."""
    h, w = bgr.shape[0], bgr.shape[1]
    n_probes = len(probes)
    k = n_probes // 2
    per = len(t) // pieces
    out = np.full((len(quads), 4), np.nan)
    summed = np.zeros((pieces, 2, 3), np.float32)
    count = np.zeros(pieces, np.float32)
    step = np.empty(pieces, np.float32)
    for n in range(len(quads)):
        for side in range(4):
            qx, qy = quads[n, side, 0], quads[n, side, 1]
            dx, dy = d[n, side, 0], d[n, side, 1]
            nx, ny = normal[n, side, 0], normal[n, side, 1]
            summed[:] = 0
            count[:] = 0
            in_view = 0
            for q in range(len(t)):
                x, y = qx + t[q] * dx, qy + t[q] * dy
                # A station is in view when its outermost probes are (those between lie on
                # the segment).
                ok = True
                for o in (0, n_probes - 1):
                    xi, yi = np.rint(x + probes[o] * nx), np.rint(y + probes[o] * ny)
                    ok &= 0 <= xi < w and 0 <= yi < h
                if not ok:
                    continue
                in_view += 1
                piece = q // per
                count[piece] += np.float32(1.0)
                for o in range(n_probes):
                    xi = int(np.rint(x + probes[o] * nx))
                    yi = int(np.rint(y + probes[o] * ny))
                    for c in range(3):
                        summed[piece, o // k, c] += np.float32(bgr[yi, xi, c])
            # The step of each piece with two stations or more in view, the median of those.
            m = 0
            for piece in range(pieces):
                if count[piece] < 2:
                    continue
                scale = count[piece] * np.float32(k)
                total = np.float32(0.0)
                for c in range(3):
                    diff = (summed[piece, 0, c] - summed[piece, 1, c]) / scale
                    total += diff * diff
                step[m] = np.sqrt(total)
                m += 1
            if m == 0 or in_view < 0.3 * len(t):
                continue
            chosen = np.sort(step[:m])
            lo, hi = chosen[(m - 1) // 2], chosen[m // 2]
            out[n, side] = (lo + hi) / np.float32(2.0)
    return out


def crossing_ok(steps: F64, least: float = MIN_CROSSING_STEP) -> npt.NDArray[np.bool_]:
    """Whether each quad crossing the frame, by its sides' `colour_steps` (N, 4), separates
    different surfaces along both its sides in view by a step of `least` or more (the two on
    the frame border read nothing): a card held close, not a band between two lines across
    one surface."""
    steps = np.sort(nan_as(steps, 0.0), axis=1)
    return np.asarray(steps[:, 2] >= least, np.bool_)


def two_sided(work: Work, quads: F64, support: F64) -> tuple[Mask, Mask]:
    """For quads (N, 4, 2) in the shrunk frame with tight side `support` (N, 4; NaN for a side
    out of view), the final checks' view of those showing only two sides: which are a card
    judged on its two sides, and which may pass at all.

    A card over a corner of the frame shows two neighbouring sides; one held close across the
    frame, two opposite sides, each with a colour step of `HELD_CLOSE_STEP` (a band of a wall
    between two lines shows less). Any quad crossing the frame must separate two surfaces
    along both its sides (`crossing_ok`): two lines across one surface (a launch tower's legs,
    a sheet's folds) do not. The colour steps are read once, for the quads crossing the frame
    only."""
    seen = ~np.isnan(support)
    two = seen.sum(axis=1) == 2
    corner = two & (seen & seen[:, NEXT]).any(axis=1)
    across = two & ~corner
    held = np.zeros(len(quads), np.bool_)
    separates = np.ones(len(quads), np.bool_)
    if across.any():
        steps = colour_steps(work, quads[across])
        held[across] = crossing_ok(steps, HELD_CLOSE_STEP)
        separates[across] = crossing_ok(steps)
    return np.asarray(corner | held, np.bool_), separates


# `_end_hits`: the stretches of a side's line looked at, as shares of its length.
_END_SPANS: Final = ((-0.25, -0.03), (0.03, 0.25), (0.75, 0.97), (1.03, 1.25))


def _end_hits(work: Work, quad: F64, samples: int = 8) -> F64:
    """Per side of a quad (4, 2) in the shrunk frame, the share of stations where an edge of
    either channel crosses it within 1 px: on its line over the quarter of its length before its
    start, its first and last quarters, and the quarter after its end. Near its ends,
    stations outside the frame count as hits (what is not seen may be there); beyond them, as
    misses. Shape (4, 4)."""
    t = np.concatenate([stations(a, b, samples) for a, b in _END_SPANS])
    d, normal = side_normals(quad)
    hit, inside = _crossed_at(work, quad[:, None, :] + t[None, :, None] * d[:, None, :], normal)
    near = np.zeros(t.shape, np.bool_)
    near[samples:3 * samples] = True
    hit = np.where(near[None, :], hit | ~inside, hit & inside)
    return np.asarray(hit.reshape(4, 4, samples).mean(axis=2), np.float64)


def stretch_hits(work: Work, starts: F64, ends: F64, samples: int = 6) -> F64:
    """Per stretch of a line from `starts` to `ends` (K, 2 each) in the shrunk frame, the share
    of its stations (`samples`, from a sixth of it to five sixths) where an edge of either
    channel crosses it within 1 px; a station outside the frame is a miss. (K,)"""
    d = ends - starts
    normal = stacked(d[:, 1], -d[:, 0]) / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    t = stations(1 / 6, 5 / 6, samples)
    hit, inside = _crossed_at(work, starts[:, None, :] + t[None, :, None] * d[:, None, :],
                              normal)
    return np.asarray((hit & inside).mean(axis=1), np.float64)


def _crossed_at(work: Work, pts: F64, normal: F64) -> tuple[Mask, Mask]:
    """At points `pts` (K, T, 2) in the shrunk frame on lines of unit normals `normal` (K, 2),
    whether an edge of either channel crosses the line within 1 px (the gradient across it
    above the channel's strength and above 0.6 of its L1 norm), and whether the point is in the
    frame (1 px in from its edges, 2 px from the far ones); (K, T) each."""
    h, w = work.gray.shape
    inside = (pts[..., 0] >= 1) & (pts[..., 0] < w - 2) & (pts[..., 1] >= 1) & (
        pts[..., 1] < h - 2)
    probe = pts[:, :, None, :] + np.array([-1.0, 0.0, 1.0])[None, None, :, None] * normal[
        :, None, None, :]
    xi = np.minimum(np.maximum(np.rint(probe[..., 0]).astype(np.intp), 0), w - 1)
    yi = np.minimum(np.maximum(np.rint(probe[..., 1]).astype(np.intp), 0), h - 1)
    flat = yi * w + xi
    nx, ny = normal[:, None, None, 0], normal[:, None, None, 1]
    hit = np.zeros(inside.shape, np.bool_)
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat), gyc.ravel().take(flat)
        proj = np.abs(gx * nx + gy * ny)
        hit |= ((proj > strength) & (proj > 0.6 * (np.abs(gx) + np.abs(gy)))).any(axis=2)
    return np.asarray(hit, np.bool_), np.asarray(inside, np.bool_)


def _reach_and_past(ends: F64) -> tuple[F64, F64]:
    """Per side, from its quad's `_end_hits` (4, 4): how far both its neighbours' edges run
    right up to it (the lesser), and how far either runs on past it (the greater)."""
    return (np.asarray(np.minimum(ends[PREV, 2], ends[NEXT, 1]), np.float64),
            np.asarray(np.maximum(ends[PREV, 3], ends[NEXT, 0]), np.float64))


def run_on_past(work: Work, quad: F64) -> F64:
    """Per side of a quad (4, 2) in the shrunk frame, how far the edges of either of its
    neighbours run on past it, along their lines over the quarter of their length beyond it
    (`_end_hits`): a card's side runs on past the line under its band, not past its outline."""
    return _reach_and_past(_end_hits(work, quad))[1]


def _second_side_short(support: F64, least: float) -> bool:
    """Whether a quad with tight side `support` (4, NaN out of view) showing three sides or
    more has its second-faintest seen along less than `least` of it."""
    sides = np.sort(support[~np.isnan(support)])
    return bool(len(sides) >= 3 and sides[1] < least)


def partly_seen(support: F64) -> bool:
    """Whether a quad with tight side `support` (4,) shows a second side seen along less than
    `_MIN_SIDE_FINAL_2` of it: one side besides the faintest (fingers over two sides)."""
    return _second_side_short(support, _MIN_SIDE_FINAL_2)


def verified(work: Work, quad: F64, support: F64, second: float = _MIN_SIDE_FINAL_2) -> bool:
    """Last checks on a quad (4, 2) in the shrunk frame with tight side `support` (4,): every
    side in view shows some edge along it and some step across it, and a quad wholly in view is
    shaped like a document once perspective is undone. (Whether a quad crossing the frame
    separates two surfaces is `two_sided`'s, for all candidates at once.) `second`: how much
    of the second-faintest side must be seen (`PARTLY_SEEN_SIDE` for a quad that must then
    stand out clearly, `partly_seen`)."""
    seen = ~np.isnan(support)
    # One side may be faint (a card's band against a ground of its colour); the others are
    # clearly seen (or, `second`, a second one in good part).
    if not seen.any() or _second_side_short(support, second):
        return False
    steps = _step_shares(work, quad)
    faint = seen & ((support < _MIN_SIDE_FINAL) | (nan_as(steps, 1.0) < _MIN_STEP_SHARE))
    if faint.any():
        # A side with next to no edge or step along it is taken only where both its
        # neighbours' edges run right up to it and end there: the card's outline where its
        # sides end.
        reach, past = _reach_and_past(_end_hits(work, quad))
        if (reach[faint] < _MIN_REACH).any() or (past[faint] > _MAX_PAST).any():
            return False
    h, w = work.gray.shape
    if seen.all() and in_frame(quad, w, h, 1.0).all():
        error = float(aspect_errors(order_many(quad[None]), w, h)[0])
        if error > _MAX_FINAL_ASPECT_ERROR:
            return False
    return True


def _support(work: Work, quads: F64, band: tuple[float, ...], samples: int) -> F64:
    """Per candidate and side, the share of stations where an edge of one consistent polarity
    runs across the side within `band` px of it; NaN for a side mostly outside the frame.

    Of the stations along a side (`samples`, from 8 % to 92 % of it) inside the frame, the
    share where, at the pixel nearest one of the offsets `band` along the side's normal, the
    grey or the saturation gradient crosses the side (its component across the side above
    the channel's strength and above 0.6 of its L1 norm: texture running along the side does
    not count) with one polarity: the larger of the two polarities' shares, of the channel
    with the larger. All candidates at once; shape (N, 4)."""
    (gx, gy), (sx, sy) = work.gradients
    return _supports(gx, gy, sx, sy, np.asarray(work.strengths, np.float32),
                     np.asarray(quads, np.float64), stations(0.08, 0.92, samples),
                     np.asarray(band, np.float64))


@njit(types.float64[:, :](types.float32[:, :], types.float32[:, :], types.float32[:, :],
                          types.float32[:, :], types.float32[:], types.float64[:, :, :],
                          types.Array(types.float64, 1, "A", readonly=True),
                          types.float64[:]), cache=True, nogil=True)
def _supports(gx: npt.NDArray[np.float32], gy: npt.NDArray[np.float32],
              sx: npt.NDArray[np.float32], sy: npt.NDArray[np.float32],
              strengths: npt.NDArray[np.float32], quads: F64, t: F64, band: F64) -> F64:
    """`_support` with the grey (`gx`, `gy`) and saturation (`sx`, `sy`) gradients, their
    `strengths`, the stations `t` (shares of a side's length) and the offsets `band`. (In
    float32 where the gradients are, as numpy works them out.)"""
    h, w = gx.shape
    out = np.empty((len(quads), 4))
    share = np.float32(0.6)
    for q in range(len(quads)):
        for k in range(4):
            x0, y0 = quads[q, k, 0], quads[q, k, 1]
            dx, dy = quads[q, (k + 1) % 4, 0] - x0, quads[q, (k + 1) % 4, 1] - y0
            length = max(np.hypot(dx, dy), 1e-6)
            nx, ny = dy / length, -dx / length
            nx32, ny32 = np.float32(nx), np.float32(ny)
            seen, grey_up, grey_down, sat_up, sat_down = 0, 0, 0, 0, 0
            for s in range(len(t)):
                px, py = x0 + t[s] * dx, y0 + t[s] * dy
                if not (px >= 1 and px < w - 2 and py >= 1 and py < h - 2):
                    continue
                seen += 1
                up, down, sat_up_here, sat_down_here = False, False, False, False
                for off in band:
                    xi = min(max(int(np.rint(px + off * nx)), 0), w - 1)
                    yi = min(max(int(np.rint(py + off * ny)), 0), h - 1)
                    ax, ay = gx[yi, xi], gy[yi, xi]
                    across = ax * nx32 + ay * ny32
                    if abs(across) > share * (abs(ax) + abs(ay)):
                        up |= across > strengths[0]
                        down |= across < -strengths[0]
                    ax, ay = sx[yi, xi], sy[yi, xi]
                    across = ax * nx32 + ay * ny32
                    if abs(across) > share * (abs(ax) + abs(ay)):
                        sat_up_here |= across > strengths[1]
                        sat_down_here |= across < -strengths[1]
                grey_up += up
                grey_down += down
                sat_up += sat_up_here
                sat_down += sat_down_here
            support = max(0.0, max(grey_up, grey_down) / max(seen, 1))
            support = max(support, max(sat_up, sat_down) / max(seen, 1))
            out[q, k] = np.nan if seen < len(t) * 0.3 else support
    return out


class Straight(enum.Enum):
    """How a quad's outline passed `straight_sides`."""

    # Judged on the whole length of its sides.
    WHOLE = "whole"
    # Only on the parts of its sides in view: a side running out of the frame (a card over its
    # edge) was not straight along its whole length there.
    IN_VIEW = "in_view"


def straight_sides(image: npt.NDArray[np.uint8], quad: F64,
                   found: tuple[F64, Strengths] | None = None, curves: bool = True,
                   in_view: bool = True) -> Straight | None:
    """Final check at full resolution: the outline must run along straight lines. Curved
    things (heads, mugs, hands) can be boxed by a quad whose sides touch edges here and there,
    but their edge points do not line up within a pixel. `found`: the quad's `edge_points`
    at reach 3 when already sampled. `curves`: also refuse a quad two of whose sides are only
    tangents to a curved outline (`_edge_share`).

    Returns how it passed (`Straight.WHOLE`, or, with `in_view`, `Straight.IN_VIEW` where it
    passes only with a side running out of the frame judged on the part of it in view), or
    None. A side wholly in view is judged the same either way."""
    pts, strength = edge_points(image, quad[None], 3.0) if found is None else found
    seen = strength > 0
    # Above camera noise: a flat stretch offers noise peaks that line up by chance.
    usable = seen & (strength >= _STRAIGHT_STRENGTH)
    # Real cards bend a little and webcam lenses bow long lines: allow ~0.3 % of the side.
    length = np.hypot(*(quad[NEXT] - quad).T)
    tolerance = np.maximum(1.2, 0.003 * length)[:, None, None]
    share, inlier = consensus(pts, usable, tolerance)
    # A side along or beyond the frame border is not seen, whatever lies next to it.
    h, w = image.shape[:2]
    on_side = quad[:, None, :] + STATIONS[None, :, None] * (quad[NEXT] - quad)[:, None, :]
    in_frame = ((on_side[..., 0] > 4) & (on_side[..., 0] < w - 5) & (on_side[..., 1] > 4)
                & (on_side[..., 1] < h - 5))
    visible = (seen & in_frame).mean(axis=1) >= 0.3
    lined = visible & (share >= _MIN_STRAIGHT_SHARE)

    def passes(spans: Mask | np.bool_) -> bool:
        straight = lined & spans
        return bool(visible.sum() >= 2 and straight.sum() >= min(3, int(visible.sum())))

    # A straight side is seen along much of its length (fingers may hide part of it), not only
    # where a quad boxing a round thing (a mug, a head) touches it: inliers near both ends, of
    # the whole side first, else of the part of it in view (the first and the last third of its
    # stations in view).
    third = inlier.shape[1] // 3
    verdict = Straight.WHOLE
    if not passes(inlier[:, :third].any(axis=1) & inlier[:, -third:].any(axis=1)):
        if not in_view:
            return None
        n_in = in_frame.sum(axis=1, keepdims=True)
        rank = np.cumsum(in_frame, axis=1)
        seen_in = inlier & in_frame
        if not passes((seen_in & (3 * rank <= n_in)).any(axis=1)
                      & (seen_in & (3 * (rank - 1) >= 2 * n_in)).any(axis=1)):
            return None
        verdict = Straight.IN_VIEW
    if not curves:
        return verdict
    # A quad boxing a round thing touches it on two sides (a head between two lines, a plate
    # between ruled lines). Sides whose inliers here mostly peak inside this narrow window are
    # straight edges: the wider search is needed only when two sides are in doubt.
    inside = inlier & (np.abs(_offsets(pts, quad)) < 2.0 - 1e-3)
    if (visible & (inside.mean(axis=1) < _SURE_SHARE)).sum() < 2:
        return verdict
    curved = visible & (_edge_share(image, quad, tolerance) < _MIN_EDGE_SHARE)
    return verdict if curved.sum() < 2 else None


def _edge_share(image: npt.NDArray[np.uint8], quad: F64, tolerance: F64) -> F64:
    """Per side of `quad` (4, 2), the share of stations on one straight line among those where
    the edge searched over +-`_EDGE_REACH` px peaks inside that window. Where a side is only
    a tangent to a curved outline (a head, a plate), the curve leaves the window a little way
    from where it touches; the stations there see the edge beyond the window's end (or a
    flat stretch), all at the same offset, which `straight_sides` takes for a straight
    line."""
    pts, strength = edge_points(image, quad[None], _EDGE_REACH)
    usable = (strength >= _STRAIGHT_STRENGTH) & (np.abs(_offsets(pts, quad))
                                                 < _EDGE_REACH - 1.0 - 1e-3)
    return consensus(pts, usable, tolerance)[0]


def _offsets(pts: F64, quad: F64) -> F64:
    """Offsets (4, S) of `edge_points` (4, S, 2) of `quad` (4, 2) along its sides' outward
    normals (the window's ends, +-(reach - 1), mean the edge lies beyond it)."""
    d, normal = side_normals(quad)
    # The stations as `edge_points` lays them out.
    base = quad[:, None, :] + STATIONS[None, :, None] * d[:, None, :]
    return np.asarray(((pts - base) * normal[:, None, :]).sum(axis=2), np.float64)


# `print_share` reads the inside of a quad from this far within its outline (px in the shrunk
# frame): past the blur of its edge.
_PRINT_INSET: Final = 3


def print_share(work: Work, quad: F64) -> float:
    """The share of edge pixels (`Work.at`) inside `quad` (4, 2) in the shrunk frame, from
    `_PRINT_INSET` px within its outline and in view: a document's print (its text, its photo,
    its code), where the band of a flag, a door or a wall between two lines is plain."""
    h, w = work.gray.shape
    shape = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(shape, np.round(quad).astype(np.int32), 1)
    size = 2 * _PRINT_INSET + 1
    inside = np.asarray(cv2.erode(shape, np.ones((size, size), np.uint8)), np.uint8)
    n = cv2.countNonZero(inside)
    return float(np.count_nonzero(inside.ravel().take(work.at)) / n) if n else 0.0
