"""Stage 5, the order in which the candidates are tried: of the best few, a quad that is another
one with its shadow (the strip between them is the ground around it darkened, same
chromaticity) is tried after that one; if none passes, two more in order of value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from numba import njit

from .candidates import SHORTLIST, Candidates
from .edges import Work
from .shape import F64, areas, depth_inside

_SHADOW_AREA: Final = 0.55
_SHADOW_DARKER: Final = 0.92
_SHADOW_CHROMA: Final = 0.06
_GREY: Final = np.array([0.114, 0.587, 0.299])


@njit("int64(float64[:, :], float64[:, :])", cache=True, nogil=True)
def _shared_sides(outer: F64, inner: F64) -> int:
    """How many sides of `outer` (4, 2) the quad `inner` (4, 2) has on the same line: both
    ends of the side within 1.5 px of the line of one of `inner`'s sides (its unit normal, as
    `shape.side_normals` has it)."""
    nx, ny, offset = np.empty(4), np.empty(4), np.empty(4)
    for k in range(4):
        j = (k + 1) % 4
        dx, dy = inner[j, 0] - inner[k, 0], inner[j, 1] - inner[k, 1]
        length = max(np.hypot(dx, dy), 1e-9)
        nx[k], ny[k] = dy / length, -dx / length
        offset[k] = nx[k] * inner[k, 0] + ny[k] * inner[k, 1]
    shared = 0
    for side in range(4):
        on = False
        for k in range(4):
            far = 0.0
            for end in (side, (side + 1) % 4):
                far = max(far, abs(outer[end, 0] * nx[k] + outer[end, 1] * ny[k] - offset[k]))
            on |= far < 1.5
        shared += on
    return shared


def is_shadow(work: Work, outer: F64, inner: F64) -> bool:
    """Whether quad `outer` is the quad `inner` (4, 2, shrunk frame; inside it and of nearly
    its size) with its shadow: `inner` lies on two or three of its sides, and the strip between
    them is the ground around `outer` darkened. A shadow dims the light but keeps the colour:
    the grey drops, the chromaticity stays. A card's band against a ground of about its colour
    differs in hue."""
    h, w = work.gray.shape
    if _shared_sides(outer, inner) < 2:
        return False
    # Masks over the box around `outer` only.
    x0, y0 = np.maximum(np.floor(outer.min(axis=0)).astype(np.intp) - 6, 0)
    x1, y1 = np.minimum(np.ceil(outer.max(axis=0)).astype(np.intp) + 7, (w, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    corner = np.array([x0, y0], np.float64)
    a = np.zeros((y1 - y0, x1 - x0), np.uint8)
    b = np.zeros_like(a)
    cv2.fillConvexPoly(a, np.rint(outer - corner).astype(np.int32), 1)
    cv2.fillConvexPoly(b, np.rint(inner - corner).astype(np.int32), 1)
    # The masks hold 0 or 1: saturating subtraction is "and not".
    strip = np.asarray(cv2.subtract(cv2.erode(a, _SQUARES[1]), _grown(b, 2)), np.uint8)
    if cv2.countNonZero(strip) < 8:
        return False
    ring = np.asarray(cv2.bitwise_and(cv2.subtract(_grown(a, 4), _grown(a, 1)),
                                      _grown(strip, 5)), np.uint8)
    if cv2.countNonZero(ring) < 8:
        return False
    return bool(_darkened(work.bgr[y0:y1, x0:x1], strip, ring, _GREY, _SHADOW_DARKER,
                          _SHADOW_CHROMA))


# Square structuring elements by half-width: (2 k + 1) x (2 k + 1).
_SQUARES: Final = {k: np.ones((2 * k + 1, 2 * k + 1), np.uint8) for k in (1, 2, 4, 5)}


def _grown(mask: npt.NDArray[np.uint8], times: int) -> npt.NDArray[np.uint8]:
    """`mask` dilated `times` times by a 3x3 square, in one pass (by a (2 times + 1)-square)."""
    return np.asarray(cv2.dilate(mask, _SQUARES[times]), np.uint8)


@njit("boolean(uint8[:, :, :], uint8[:, ::1], uint8[:, ::1], float64[::1], float64, float64)",
      cache=True, nogil=True)
def _darkened(bgr: npt.NDArray[np.uint8], strip: npt.NDArray[np.uint8],
              ring: npt.NDArray[np.uint8], grey: F64, darker: float, chroma: float) -> bool:
    """Whether the mean colour of `bgr` over the `strip` is that over the `ring` darkened: its
    grey (weighed by `grey`, as cv2.cvtColor weighs B, G, R) below `darker` times the ring's,
    its chromaticity (each channel's share of the sum, which dimming leaves alone) within
    `chroma` of it. Each mean is taken as `cv2.mean` takes it, plus 1 (a black channel still
    has a share)."""
    h, w = strip.shape
    sums = np.zeros((2, 3), np.int64)
    counts = np.zeros(2, np.int64)
    for y in range(h):
        for x in range(w):
            for m, mask in enumerate((strip, ring)):
                if mask[y, x]:
                    counts[m] += 1
                    for c in range(3):
                        sums[m, c] += bgr[y, x, c]
    colour = np.empty((2, 3))
    for m in range(2):
        for c in range(3):
            colour[m, c] = sums[m, c] * (1.0 / counts[m]) + 1.0
    grey_in = 0.0 + colour[0, 0] * grey[0] + colour[0, 1] * grey[1] + colour[0, 2] * grey[2]
    grey_out = 0.0 + colour[1, 0] * grey[0] + colour[1, 1] * grey[1] + colour[1, 2] * grey[2]
    total_in = 0.0 + colour[0, 0] + colour[0, 1] + colour[0, 2]
    total_out = 0.0 + colour[1, 0] + colour[1, 1] + colour[1, 2]
    shift = 0.0
    for c in range(3):
        shift += abs(colour[0, c] / total_in - colour[1, c] / total_out)
    return grey_in < darker * grey_out and shift < chroma


def shadow_order(work: Work, found: Candidates) -> Iterator[int]:
    """Indices of the candidates in the order to try them: the shortlist by value, but a quad
    found to be another one with its shadow goes right after it; then the fallbacks. Lazy, as
    the first candidate usually passes: the shadow test runs only for the candidates reached.
    The shortlist is the first `SHORTLIST` of the line search's quads with the completed U's
    among them (a completed U takes no quad's place there, nor its shadow's)."""
    own = np.cumsum(~found.completed)
    quads = found.quads[:int(np.searchsorted(own, SHORTLIST)) + 1]
    yield from _shortlist_order(work, quads)
    # The fallbacks, in order of value: a strong candidate's part (the field below its band)
    # must not be taken for it less a shadow.
    yield from range(len(quads), len(found.quads))


def _shortlist_order(work: Work, quads: F64) -> Iterator[int]:
    n = len(quads)
    if n < 2:
        yield from range(n)
        return
    # Cheap tests for all pairs first: [i, j] with j of a size to be i less a shadow, and
    # inside it. (j may be crossed: a shadow's edge runs on along a card side.)
    area = areas(quads)
    # depth[i, j]: how deep quad j lies inside quad i.
    depth = depth_inside(quads, quads).T
    maybe = (area[None, :] >= _SHADOW_AREA * area[:, None]) & (depth >= -1.5)
    np.fill_diagonal(maybe, False)
    left = list(range(n))
    while left:
        i = left[0]
        # The card takes the place of the card with its shadow (and of that with its own).
        moved = True
        while moved:
            moved = False
            for j in left:
                if maybe[i, j] and is_shadow(work, quads[i], quads[j]):
                    maybe[i, j] = False
                    i, moved = j, True
                    break
        left.remove(i)
        yield i
