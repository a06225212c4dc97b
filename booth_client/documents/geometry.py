"""Quadrilateral helpers shared by detection, rectification, guidance and evaluation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

Quad = npt.NDArray[np.float32]
"""Four corners, shape (4, 2), float32, ordered top-left, top-right, bottom-right, bottom-left."""


def order_corners(points: npt.ArrayLike) -> Quad:
    """Order four points clockwise on screen starting at the top-left one.

    Clockwise is by angle around the centroid (image y points down). The start is the corner
    with the smallest x + y; for a quad turned exactly 45 degrees the upper one wins, so the
    result is deterministic.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    clockwise = pts[np.argsort(angles, kind="stable")]
    key = clockwise[:, 0] + clockwise[:, 1]
    start = int(np.lexsort((clockwise[:, 1], np.round(key, 6)))[0])
    return np.roll(clockwise, -start, axis=0).astype(np.float32)


def signed_area(quad: npt.ArrayLike) -> float:
    """Shoelace area; positive when the corners run clockwise on screen."""
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def is_convex(quad: npt.ArrayLike) -> bool:
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    edges = np.roll(pts, -1, axis=0) - pts
    following = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def side_lengths(quad: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Lengths of the sides top, right, bottom, left."""
    pts = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    return np.asarray(np.linalg.norm(np.roll(pts, -1, axis=0) - pts, axis=1), dtype=np.float64)


def corner_angles_deg(quad: npt.ArrayLike) -> npt.NDArray[np.float64]:
    pts = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    to_prev = np.roll(pts, 1, axis=0) - pts
    to_next = np.roll(pts, -1, axis=0) - pts
    cos = (to_prev * to_next).sum(axis=1) / (
        np.linalg.norm(to_prev, axis=1) * np.linalg.norm(to_next, axis=1) + 1e-12
    )
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), dtype=np.float64)


@njit("float64(float64[:, :])", cache=True, nogil=True)
def _shoelace(poly: npt.NDArray[np.float64]) -> float:
    """`signed_area` of a polygon (n, 2); 0 below three corners."""
    n = len(poly)
    if n < 3:
        return 0.0
    forward, backward = 0.0, 0.0
    for k in range(n):
        forward += poly[k, 0] * poly[(k + 1) % n, 1]
        backward += poly[k, 1] * poly[(k + 1) % n, 0]
    return 0.5 * (forward - backward)


@njit("float64[:, :](float64[:, :], float64[:, :])", cache=True, nogil=True)
def _clip_convex(subject: npt.NDArray[np.float64],
                 window: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The part of convex polygon `subject` inside convex polygon `window` (Sutherland-Hodgman).

    Written out rather than cv2.intersectConvexConvex, which returns the whole of one polygon
    for some inputs with (nearly) collinear vertices, and so IoUs above 1. Compiled: the
    detector's selection rules compare a few quads per frame."""
    n, m = len(subject), len(window)
    if n < 3 or m < 3:
        return np.zeros((0, 2))
    orient = 1.0 if _shoelace(window) >= 0 else -1.0
    # Clipping by each side of the window adds at most one corner.
    out = np.empty((n + m, 2))
    out[:n] = subject
    nxt = np.empty((n + m, 2))
    for k in range(m):
        if n == 0:
            break
        ax, ay = window[k, 0], window[k, 1]
        ex, ey = window[(k + 1) % m, 0] - ax, window[(k + 1) % m, 1] - ay
        kept = 0
        for i in range(n):
            px, py = out[i, 0], out[i, 1]
            qx, qy = out[(i + 1) % n, 0], out[(i + 1) % n, 1]
            # Positive on the window's inner side of its edge k.
            sp = orient * (ex * (py - ay) - ey * (px - ax))
            sq = orient * (ex * (qy - ay) - ey * (qx - ax))
            if sp >= 0:
                nxt[kept, 0], nxt[kept, 1] = px, py
                kept += 1
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                nxt[kept, 0], nxt[kept, 1] = px + (qx - px) * t, py + (qy - py) * t
                kept += 1
        out[:kept] = nxt[:kept]
        n = kept
    return out[:n].copy()


@njit("float64(float64[:, :], float64[:, :])", cache=True, nogil=True)
def _convex_iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """`polygon_iou` of `a` and `b` (n, 2) and (m, 2)."""
    if len(a) < 3 or len(b) < 3:
        return 0.0
    inter = abs(_shoelace(_clip_convex(a, b)))
    union = abs(_shoelace(a)) + abs(_shoelace(b)) - inter
    return min(1.0, inter / union) if union > 0 else 0.0


def clip_to_frame(quad: npt.ArrayLike, width: int, height: int) -> npt.NDArray[np.float32]:
    """The part of a convex quad inside the frame [0, width] x [0, height] as a polygon."""
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    inter = _clip_convex(pts, frame)
    if _shoelace(inter) == 0.0:
        return np.zeros((0, 2), dtype=np.float32)
    return np.asarray(inter, dtype=np.float32)


def polygon_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """IoU of two convex polygons."""
    return float(_convex_iou(np.asarray(a, dtype=np.float64).reshape(-1, 2),
                             np.asarray(b, dtype=np.float64).reshape(-1, 2)))


def quad_iou_in_frame(pred: npt.ArrayLike, truth: npt.ArrayLike, width: int, height: int) -> float:
    """IoU of two quads counting only what lies inside the frame.

    A document partly out of frame can only be judged on what the camera saw, so both quads are
    clipped to the frame first; for documents fully in frame this equals the plain quad IoU.
    """
    return polygon_iou(clip_to_frame(pred, width, height), clip_to_frame(truth, width, height))
