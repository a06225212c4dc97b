"""Geometry of quads shared by the stages: corner order, areas, side normals, how deep one quad
lies inside another, and a quad's aspect with perspective undone and its distance from the
aspects of the documents asked for.

Quads are arrays (..., 4, 2) of corners; `NEXT` and `PREV` index the following and the
preceding corner (or side) around a quad.
"""

from __future__ import annotations

import functools
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
from numba import njit

from ..kinds import A4_PAGE, BANK_BOOK_PAGE, ID1_CARD

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

NEXT: Final = np.array([1, 2, 3, 0])
PREV: Final = np.array([3, 0, 1, 2])

# Long/short sides of the documents asked for: ID-1 cards, A4 pages, bank-book pages.
_DOCUMENT_ASPECTS: Final = np.array([ID1_CARD.aspect, A4_PAGE.aspect, BANK_BOOK_PAGE.aspect])

# Focal length over the frame's long side: ~0.75-0.9 for webcams and phones (60-75 degrees
# across); the aspect estimate is not sensitive to it at moderate tilt.
_FOCAL_PER_LONG_SIDE: Final = 0.9


def _true_aspects(quads: F64, width: float, height: float) -> F64:
    """Long/short aspect of the rectangles seen as ordered quads (N, 4, 2), undoing perspective
    with a pinhole camera of focal length about the frame's long side (a phone held upright
    takes portrait frames), principal point at the centre (Zhang and He, whiteboard scanning).
    Falls back to the mean side ratio where that fails."""
    return _aspects(np.asarray(quads, np.float64), width / 2.0, height / 2.0,
                    _FOCAL_PER_LONG_SIDE * max(width, height))


@njit("float64[:](float64[:, :, :], float64, float64, float64)", cache=True, nogil=True)
def _aspects(quads: F64, u0: float, v0: float, f: float) -> F64:
    """`_true_aspects` with the principal point (u0, v0) and focal length f."""
    out = np.empty(len(quads))
    for n in range(len(quads)):
        q = quads[n]
        # Zhang-He order: m1 top-left, m2 top-right, m3 bottom-left, m4 bottom-right. Their
        # k2 = (m1 x m4).m3 / (m2 x m4).m3 and k3 = (m1 x m4).m2 / (m3 x m4).m2; for points
        # with z = 1, (a x b).c is the plane cross product (b - a) x (c - a).
        det = np.empty(4)
        for i, (ia, ic) in enumerate(((0, 3), (1, 3), (0, 1), (3, 1))):
            bx, by = q[2, 0] - q[ia, 0], q[2, 1] - q[ia, 1]
            cx, cy = q[ic, 0] - q[ia, 0], q[ic, 1] - q[ia, 1]
            det[i] = bx * cy - by * cx
        norm2 = np.empty(2)
        for i, corner in enumerate((1, 3)):
            den = det[2 * i + 1]
            k = det[2 * i] / (den if abs(den) > 1e-12 else 1e-12)
            # n2 = k2 m2 - m1 and n3 = k3 m3 - m1, then their lengths through the camera.
            nz = k - 1.0
            x = (k * q[corner, 0] - q[0, 0] - u0 * nz) / f
            y = (k * q[corner, 1] - q[0, 1] - v0 * nz) / f
            norm2[i] = max(x * x + y * y + nz * nz, 1e-12)
        ratio = np.sqrt(norm2[0] / norm2[1])
        if not (np.isfinite(ratio) and 0.2 < ratio < 5.0):
            sides = np.empty(4)
            for i in range(4):
                sides[i] = np.hypot(q[(i + 1) % 4, 0] - q[i, 0], q[(i + 1) % 4, 1] - q[i, 1])
            ratio = (sides[0] + sides[2]) / max(sides[1] + sides[3], 1e-9)
        out[n] = max(ratio, 1.0 / max(ratio, 1e-9))
    return out


def aspect_errors(quads: F64, width: float, height: float,
                  aspects: F64 = _DOCUMENT_ASPECTS) -> F64:
    """|log| distance of the perspective-corrected aspect to the nearest document aspect (of
    `aspects`; `CARD_ASPECT` for an ID-1 card's alone)."""
    aspect = _true_aspects(quads, width, height)
    return np.asarray(np.abs(np.log(aspect[:, None] / aspects[None, :])).min(axis=1),
                      np.float64)


CARD_ASPECT: Final = _DOCUMENT_ASPECTS[:1]


def in_frame(points: F64, width: float, height: float, margin: float) -> Mask:
    """Whether `points` (..., 2) lie `margin` px or more inside a `width` x `height` frame
    (from its outermost pixels' centres)."""
    x, y = points[..., 0], points[..., 1]
    return np.asarray((x >= margin) & (x <= width - 1 - margin) & (y >= margin)
                      & (y <= height - 1 - margin), np.bool_)


def order_many(quads: F64) -> F64:
    """`geometry.order_corners` for a stack of quads at once."""
    return _ordered(np.asarray(quads, np.float64))


@njit("float64[:, :, :](float64[:, :, :])", cache=True, nogil=True)
def _ordered(quads: F64) -> F64:
    """`order_many`: each quad's corners in order of their angle about its centre (clockwise
    on screen), from the one nearest the top left (least x + y)."""
    out = np.empty((len(quads), 4, 2))
    angle = np.empty(4)
    order = np.empty(4, np.int64)
    for n in range(len(quads)):
        q = quads[n]
        cx = (((q[0, 0] + q[1, 0]) + q[2, 0]) + q[3, 0]) / 4
        cy = (((q[0, 1] + q[1, 1]) + q[2, 1]) + q[3, 1]) / 4
        for k in range(4):
            angle[k] = np.arctan2(q[k, 1] - cy, q[k, 0] - cx)
            # Insertion, stable: ties keep their order.
            at = k
            while at > 0 and angle[order[at - 1]] > angle[k]:
                order[at] = order[at - 1]
                at -= 1
            order[at] = k
        start, least = 0, np.inf
        for k in range(4):
            key = q[order[k], 0] + (1.0 - 1e-9) * q[order[k], 1]
            if key < least:
                start, least = k, key
        for k in range(4):
            out[n, k] = q[order[(start + k) % 4]]
    return out


_A = TypeVar("_A", bound=np.generic)


def stacked(*arrays: npt.NDArray[_A]) -> npt.NDArray[_A]:
    """`np.stack(arrays, axis=-1)` for arrays of one shape and dtype, the same array without
    np.stack's checks and copies, which cost more than the copying on the small arrays here."""
    out = np.empty((*arrays[0].shape, len(arrays)), arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[..., k] = a
    return out


@functools.cache
def stations(start: float, stop: float, samples: int) -> F64:
    """`np.linspace(start, stop, samples)`, made once (read-only): where the stations along a
    side lie, as shares of its length."""
    t = np.linspace(start, stop, samples)
    t.setflags(write=False)
    return t


def nan_as(values: F64, fill: float) -> F64:
    """`values` with NaN (a side or a measure out of view) as `fill`: `np.nan_to_num` for the
    arrays here, which hold no infinities, without its checks and copies."""
    return np.asarray(np.where(np.isnan(values), fill, values), np.float64)


def side_normals(quads: F64) -> tuple[F64, F64]:
    """The sides of quads (..., 4, 2) as vectors from each corner to the next, and their unit
    normals (outward for a quad clockwise on screen)."""
    d = quads[..., NEXT, :] - quads
    length = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    return d, stacked(d[..., 1], -d[..., 0]) / length[..., None]


def areas(quads: F64) -> F64:
    """The areas of quads (..., 4, 2) (shoelace formula)."""
    flat = np.asarray(quads, np.float64).reshape(-1, 4, 2)
    return _areas(flat).reshape(quads.shape[:-2])


@njit("float64[:](float64[:, :, :])", cache=True, nogil=True)
def _areas(quads: F64) -> F64:
    """`areas` of quads (N, 4, 2)."""
    out = np.empty(len(quads))
    for n in range(len(quads)):
        total = 0.0
        for k in range(4):
            j = (k + 1) % 4
            term = quads[n, k, 0] * quads[n, j, 1] - quads[n, k, 1] * quads[n, j, 0]
            total = term if k == 0 else total + term
        out[n] = 0.5 * abs(total)
    return out


def depth_inside(quads: F64, outers: F64) -> F64:
    """How deep each of `quads` (N, 4, 2) lies inside each of `outers` (B, 4, 2), both
    clockwise on screen: the least distance of its corners inside the sides' lines, (N, B);
    negative where a corner is outside."""
    edge = outers[:, NEXT] - outers  # (B, 4, 2)
    length = np.maximum(np.hypot(edge[..., 0], edge[..., 1]), 1e-9)
    # rel[a, b, k, j]: corner k of quad a against side j of outer b; >= 0 inside.
    rel = (edge[None, :, None, :, 0] * (quads[:, None, :, None, 1] - outers[None, :, None, :, 1])
           - edge[None, :, None, :, 1] * (quads[:, None, :, None, 0]
                                          - outers[None, :, None, :, 0]))
    rel = rel / length[None, :, None, :]
    return np.asarray(rel.min(axis=(2, 3)), np.float64)
