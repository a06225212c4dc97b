"""Stage 5, last check: a document stands out from what lies around it.

The colours inside a document's outline differ from those in a ring just outside it: a card
or a page against a desk, a wall, a hand. A quad that the line search put together from the
joints of a brick wall, the grain of a floor or the stones of a gravel path has the same mix
of colours inside it as around it, however straight its sides and whatever the step across
each of them (a brick against its mortar).

Colours are compared as histograms binned by the frame's own quantiles, per channel: a dim or
colour-cast frame spreads over all the bins as a bright one does, so a dark card on a dark
desk is told from it as well as a pale card on a pale one.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

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
    half = _halved(work.bgr)
    h, w = half.shape[:2]
    # In the halved frame's pixels.
    corners = (quad + 0.5) / 2 - 0.5
    inset, (near, far) = _INSET / 2, (_RING[0] / 2, _RING[1] / 2)
    reach = int(np.ceil(far)) + 1
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - reach
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + reach + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    shape = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(shape, np.round(corners - (x0, y0)).astype(np.int32), 1)
    # How far each pixel lies inside the quad, and outside it.
    depth = np.asarray(cv2.distanceTransform(shape, cv2.DIST_L2, 3), np.float32)
    away = np.asarray(cv2.distanceTransform(1 - shape, cv2.DIST_L2, 3), np.float32)
    inside = (depth > inset).view(np.uint8)
    ring = ((away > near) & (away <= far)).view(np.uint8)
    if cv2.countNonZero(inside) < _MIN_PIXELS or cv2.countNonZero(ring) < _MIN_PIXELS:
        return None
    binned = np.asarray(cv2.LUT(half[y0:y1, x0:x1], _bin_lookup(half)), np.uint8)
    within, around = (np.asarray(cv2.calcHist([binned], [0, 1, 2], mask, [_BINS] * 3,
                                              [0, _BINS] * 3), np.float64)
                      for mask in (inside, ring))
    overlap = np.sqrt(within / within.sum() * around / around.sum()).sum()
    return float(np.sqrt(max(0.0, 1.0 - overlap)))


def _halved(bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Every other pixel of `bgr` each way: the colours as they are (averaged, a wall's
    texture would blend towards one colour and tell less from a card)."""
    h, w = bgr.shape[:2]
    return np.asarray(cv2.resize(bgr, (max(1, w // 2), max(1, h // 2)),
                                 interpolation=cv2.INTER_NEAREST), np.uint8)


def _bin_lookup(bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The bin (0 to `_BINS` - 1) of each value of each channel, as a look-up table for
    `cv2.LUT` (1, 256, 3): which of `_BINS` stretches of equal share of the frame's pixels it
    falls in."""
    quantiles = np.arange(1, _BINS) * (bgr.shape[0] * bgr.shape[1] / _BINS)
    lookup = np.empty((1, 256, 3), np.uint8)
    for channel in range(3):
        counts = cv2.calcHist([bgr], [channel], None, [256], [0, 256]).ravel()
        # The value at each quantile; the values above it fall in the next bin. (A value
        # holding several quantiles, the flat ground of a plain desk, keeps a bin of its own:
        # a pale card on it is not binned with it.)
        edges = np.searchsorted(np.cumsum(counts), quantiles, side="left")
        lookup[0, :, channel] = np.searchsorted(edges, np.arange(256), side="left")
    return lookup
