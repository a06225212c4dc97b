"""Stage 5, last check: a document stands out from what lies around it.

The colours inside a document's outline differ from those in a ring just outside it: a card
or a page against a desk, a wall, a hand. A quad that the line search put together from the
joints of a brick wall, the grain of a floor or the stones of a gravel path has the same mix
of colours inside it as around it, however straight its sides and whatever the step across
each of them (a brick against its mortar).

Colours are compared as histograms binned by the frame's own quantiles, per channel: a dim or
colour-cast frame spreads over all the bins as a bright one does, so a dark card on a dark
desk is told from it as well as a pale card on a pale one.

The same measure, on many quads at once and more coarsely (`surround_distances`), ranks the
line search's best quads before the shortlist is drawn from them (`candidates`).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from numba import njit

from .edges import Work
from .shape import F64

# Bins per channel (so 8^3 colours), and the ring read outside the quad (px in the shrunk
# frame): past the blur of its edge, within what lies next to it. The inside is read from this
# far within the outline.
_BINS: Final = 8
_RING: Final = (4, 12)
_INSET: Final = 3
# Pixels (of the halved frame) each of the inside and the ring needs for the comparison to
# say anything (a quad mostly outside the frame is not judged).
_MIN_PIXELS: Final = 15
# The least Bhattacharyya distance (0 the same mix of colours, 1 none in common) between the
# inside and the ring of a document. Over 12 evaluation sets of photo-backdrop and drawn
# scenes in six frame formats (3,600 scenes with a document, 1,200 without), raising it from
# 0.4 to 0.5 turned 24 of the 74 false detections into none (brick walls, a suit, chalk
# writing, a camera, a sticky note on grass) for the same mean IoU (a sum of -0.3 over the
# 3,600): a dim grey card on a grey desk (0.43-0.45) is lost, and where a quad around the
# document and part of the wall was taken before, the document is found. A part of a document
# found in its place falls below it too, the rest of the document lying around it (a KK's
# table, a page below its band).
MIN_SURROUND_DISTANCE: Final = 0.5


def stands_out(distance: float | None) -> bool:
    """Whether a quad whose `surround_distance` is `distance` differs from what lies around it
    as a document does; one too little of whose inside or ring is in view to judge (None)
    does."""
    return distance is None or distance >= MIN_SURROUND_DISTANCE


def surround_distance(work: Work, quad: F64) -> float | None:
    """Bhattacharyya distance between the colours inside the quad (4, 2) in the shrunk frame
    (from `_INSET` px within its outline) and in the ring around it (`_RING` px outside), with
    each channel binned by the frame's quantiles; None when either holds fewer than
    `_MIN_PIXELS` pixels in view. (Read on the shrunk frame halved: colours, not edges.)"""
    around = _around(work, quad)
    if around is None:
        return None
    codes, depth, away = around
    inset, (near, far) = _INSET / 2, (_RING[0] / 2, _RING[1] / 2)
    terms = _overlaps(codes, depth, away, inset, near, far, _BINS ** 3, _MIN_PIXELS)
    if len(terms) == 0:
        return None
    # (Summed by numpy: the order of the sum is numpy's.)
    return float(np.sqrt(max(0.0, 1.0 - terms.sum())))


def _around(work: Work, quad: F64) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32],
                                            npt.NDArray[np.float32]] | None:
    """Over the box around the quad (4, 2) in the shrunk frame and its ring, in the halved
    frame's pixels: the colour codes (`_BINS` per channel), how far each pixel lies inside the
    quad and how far outside it; None for a box too small to read."""
    codes = _codes(work, _BINS)
    h, w = codes.shape
    # In the halved frame's pixels.
    corners = (quad + 0.5) / 2 - 0.5
    reach = int(np.ceil(_RING[1] / 2)) + 1
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - reach
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + reach + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    shape = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(shape, np.round(corners - (x0, y0)).astype(np.int32), 1)
    depth = np.asarray(cv2.distanceTransform(shape, cv2.DIST_L2, 3), np.float32)
    away = np.asarray(cv2.distanceTransform(1 - shape, cv2.DIST_L2, 3), np.float32)
    return codes[y0:y1, x0:x1], depth, away


@njit("float64[:](int32[:, :], float32[:, ::1], float32[:, ::1], float64, float64, float64, "
      "int64, int64)", cache=True, nogil=True)
def _overlaps(codes: npt.NDArray[np.int32], depth: npt.NDArray[np.float32],
              away: npt.NDArray[np.float32], inset: float, near: float, far: float,
              n_codes: int, least: int) -> F64:
    """The terms of the Bhattacharyya coefficient, per colour, of the colour `codes` (0 to
    `n_codes` - 1) more than `inset` px `depth` inside the quad and those `near` to `far` px
    `away` outside it (their sum is `surround_distance`'s overlap); none where either holds
    fewer than `least` pixels. (The definition, in numpy and OpenCV, is in
    `tests/documents/test_surround.py`.)"""
    within = np.zeros(n_codes, np.int64)
    around = np.zeros(n_codes, np.int64)
    n_in, n_out = 0, 0
    h, w = codes.shape
    for y in range(h):
        for x in range(w):
            if depth[y, x] > inset:
                within[codes[y, x]] += 1
                n_in += 1
            if near < away[y, x] <= far:
                around[codes[y, x]] += 1
                n_out += 1
    if n_in < least or n_out < least:
        return np.zeros(0)
    terms = np.empty(n_codes)
    for b in range(n_codes):
        terms[b] = np.sqrt(within[b] / n_in * around[b] / n_out)
    return terms


def _codes(work: Work, bins: int) -> npt.NDArray[np.int32]:
    """`colour_codes` of the halved working frame of `work` with `bins` per channel, made
    once per frame (kept in `Work.colours`)."""
    codes = work.colours.get(bins)
    if codes is None:
        codes = work.colours[bins] = colour_codes(_halved(work.bgr), bins)
    return codes


# `surround_distances`, for ranking many quads: the colours binned more coarsely (fuller
# histograms from fewer pixels) and at most about this many pixels of the box around a quad's
# ring read (a large quad on a coarser grid).
_RANK_BINS: Final = 4
_RANK_PIXELS: Final = 1600


def surround_distances(work: Work, quads: F64) -> F64:
    """How far each of `quads` (N, 4, 2) in the shrunk frame stands out from what lies around
    it, for ranking them: `surround_distance`'s measure on the halved frame, with `_RANK_BINS`
    bins per channel, the inside and the ring told by the distance to the quad's sides (not
    on its outline drawn on the pixel grid), and a large quad read on a coarser grid
    (`_RANK_PIXELS`); NaN where too little of the inside or the ring is in view."""
    codes = _codes(work, _RANK_BINS)
    corners = np.ascontiguousarray((np.asarray(quads, np.float64) + 0.5) / 2 - 0.5)
    return _distances(codes, corners, _INSET / 2, _RING[0] / 2, _RING[1] / 2,
                      _RANK_BINS ** 3, _MIN_PIXELS, _RANK_PIXELS)


@njit("float64[:](int32[:, ::1], float64[:, :, ::1], float64, float64, float64, int64, int64, "
      "int64)", cache=True, nogil=True)
def _distances(codes: npt.NDArray[np.int32], quads: F64, inset: float, near: float,
               far: float, n_codes: int, least: int, most: int) -> F64:
    """`surround_distances` on the colour `codes` (0 to `n_codes` - 1) of the halved frame, for
    `quads` (N, 4, 2) in its pixels: the Bhattacharyya distance between the codes more than
    `inset` px inside each quad and those `near` to `far` px outside it, every pixel read or,
    where the box around the ring holds more than `most`, every k-th each way; NaN where
    either holds fewer than `least` pixels read."""
    h, w = codes.shape
    out = np.full(len(quads), np.nan)
    within, around = np.zeros(n_codes), np.zeros(n_codes)
    px, py, ux, uy = np.empty(4), np.empty(4), np.empty(4), np.empty(4)
    nx, ny, length = np.empty(4), np.empty(4), np.empty(4)
    reach = int(np.ceil(far)) + 1
    for q in range(len(quads)):
        quad = quads[q]
        # Each side from its corner along its direction, and its outward normal (either
        # winding).
        twice_area = 0.0
        for k in range(4):
            j = (k + 1) % 4
            twice_area += quad[k, 0] * quad[j, 1] - quad[j, 0] * quad[k, 1]
        sign = 1.0 if twice_area > 0 else -1.0
        for k in range(4):
            j = (k + 1) % 4
            dx, dy = quad[j, 0] - quad[k, 0], quad[j, 1] - quad[k, 1]
            norm = max(np.hypot(dx, dy), 1e-9)
            px[k], py[k], length[k] = quad[k, 0], quad[k, 1], norm
            ux[k], uy[k] = dx / norm, dy / norm
            nx[k], ny[k] = sign * uy[k], -sign * ux[k]
        x0 = max(int(np.floor(quad[:, 0].min())) - reach, 0)
        y0 = max(int(np.floor(quad[:, 1].min())) - reach, 0)
        x1 = min(int(np.ceil(quad[:, 0].max())) + reach + 1, w)
        y1 = min(int(np.ceil(quad[:, 1].max())) + reach + 1, h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        step = max(1, int(np.ceil(np.sqrt((x1 - x0) * (y1 - y0) / most))))
        within[:] = 0.0
        around[:] = 0.0
        n_in, n_out = 0, 0
        for y in range(y0, y1, step):
            for x in range(x0, x1, step):
                # The farthest the pixel lies outside a side's line: inside a convex quad,
                # minus its distance to the outline; outside, at most that distance.
                out_most = -1e9
                for k in range(4):
                    out_most = max(out_most, (x - px[k]) * nx[k] + (y - py[k]) * ny[k])
                if out_most < -inset:
                    within[codes[y, x]] += 1.0
                    n_in += 1
                elif near < out_most <= far:
                    # The distance to the outline: to its nearest side, as a segment.
                    nearest = 1e18
                    for k in range(4):
                        t = min(max((x - px[k]) * ux[k] + (y - py[k]) * uy[k], 0.0), length[k])
                        ex, ey = x - (px[k] + t * ux[k]), y - (py[k] + t * uy[k])
                        nearest = min(nearest, ex * ex + ey * ey)
                    if nearest <= far * far:
                        around[codes[y, x]] += 1.0
                        n_out += 1
        if n_in < least or n_out < least:
            continue
        overlap = 0.0
        for b in range(n_codes):
            overlap += np.sqrt(within[b] / n_in * around[b] / n_out)
        out[q] = np.sqrt(max(0.0, 1.0 - overlap))
    return out


def _halved(bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Every other pixel of `bgr` each way: the colours as they are (averaged, a wall's
    texture would blend towards one colour and tell less from a card)."""
    h, w = bgr.shape[:2]
    return np.asarray(cv2.resize(bgr, (max(1, w // 2), max(1, h // 2)),
                                 interpolation=cv2.INTER_NEAREST), np.uint8)


@njit("int32[:, ::1](uint8[:, :, ::1], int64)", cache=True, nogil=True)
def colour_codes(bgr: npt.NDArray[np.uint8], bins: int) -> npt.NDArray[np.int32]:
    """Per pixel of `bgr`, the bin of its colour, 0 to `bins`^3 - 1: each channel binned by
    which of `bins` stretches of equal share of the frame's pixels its value falls in (the
    first channel's bin the most significant). A value holding several quantiles, the flat
    ground of a plain desk, keeps a bin of its own: a pale card on it is not binned with it."""
    h, w = bgr.shape[:2]
    lookup = np.zeros((3, 256), np.int32)
    counts = np.zeros(256, np.int64)
    edges = np.empty(bins - 1, np.int64)
    for c in range(3):
        counts[:] = 0
        for y in range(h):
            for x in range(w):
                counts[bgr[y, x, c]] += 1
        # The value at each quantile: the first whose cumulative count reaches it.
        total, value = 0, 0
        for i in range(1, bins):
            quantile = i * (h * w / bins)
            while value < 256 and total + counts[value] < quantile:
                total += counts[value]
                value += 1
            edges[i - 1] = value
        # The values above it fall in the next bin.
        for v in range(256):
            above = 0
            for i in range(bins - 1):
                if edges[i] < v:
                    above += 1
            lookup[c, v] = above
    codes = np.empty((h, w), np.int32)
    for y in range(h):
        for x in range(w):
            codes[y, x] = ((lookup[0, bgr[y, x, 0]] * bins + lookup[1, bgr[y, x, 1]]) * bins
                           + lookup[2, bgr[y, x, 2]])
    return codes
