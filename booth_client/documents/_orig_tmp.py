"""Find the most prominent document (card, page, bank book) in a camera frame.

The search runs on a copy shrunk to 320-640 px on the long side, where several candidate
generators propose quadrilaterals and each is scored by how well straight, consistently signed
image edges support its four sides. The winner is then refined at full resolution by fitting a
line to edge points along each side (robust to fingers and glare covering parts of a side) and
intersecting neighbouring lines, which also recovers corners hidden under a thumb.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, is_convex, order_corners, signed_area

F64 = npt.NDArray[np.float64]

_WORK_LONG_SIDE: Final = 320
_MIN_AREA_FRAC: Final = 0.02
_MAX_AREA_FRAC: Final = 0.97
_MIN_CORNER_DEG: Final = 55.0
_MAX_ASPECT: Final = 2.6
_SIDE_SAMPLES: Final = 24
_MIN_SIDE_SUPPORT: Final = 0.55
_MIN_SCORE: Final = 0.6
_MAX_CANDIDATES: Final = 40
_EDGE_STRENGTH: Final = 40.0
_SHORTLIST: Final = 3
_MIN_STRAIGHT_SHARE: Final = 0.5


@dataclass(frozen=True)
class Detection:
    """A detected document with the evidence behind it (for guidance and debugging)."""

    quad: Quad
    score: float
    side_support: tuple[float, ...]


@dataclass
class _Work:
    """The shrunk frame and its gradients, shared by the candidate scorers."""

    bgr: npt.NDArray[np.uint8]
    gray: npt.NDArray[np.uint8]
    sat: npt.NDArray[np.uint8]
    gradients: tuple[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], ...]
    factor: float


def _shrink(image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
    small, factor = image, 1.0
    # pyrDown blurs before it decimates, so Canny later sees fewer noise and JPEG edges.
    while max(small.shape[:2]) >= 2 * _WORK_LONG_SIDE:
        small = np.asarray(cv2.pyrDown(small), np.uint8)
        factor *= 2.0
    return small, factor


def _prepare(image: npt.NDArray[np.uint8]) -> _Work:
    small, factor = _shrink(image)
    gray = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
    hsv = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), np.uint8)
    sat = np.ascontiguousarray(hsv[:, :, 1])
    # Grey and saturation are judged separately (their polarities differ across one edge), so
    # a blue card on a brown desk of the same brightness still has edges.
    gradients = tuple(
        (np.asarray(cv2.Sobel(c, cv2.CV_32F, 1, 0, ksize=3), np.float32),
         np.asarray(cv2.Sobel(c, cv2.CV_32F, 0, 1, ksize=3), np.float32))
        for c in (gray, sat))
    return _Work(small, gray, sat, gradients, factor)


def _canny_auto(channel: npt.NDArray[np.uint8], gx: npt.NDArray[np.float32],
                gy: npt.NDArray[np.float32], percentile: float) -> npt.NDArray[np.uint8]:
    mag = np.abs(gx) + np.abs(gy)
    high = float(np.clip(np.percentile(mag[::2, ::2], percentile), 40.0, 400.0))
    return np.asarray(cv2.Canny(channel, high * 0.4, high), np.uint8)


def _contour_hulls(mask: npt.NDArray[np.uint8], mode: int, min_area: float) -> list[F64]:
    contours, _ = cv2.findContours(mask, mode, cv2.CHAIN_APPROX_SIMPLE)
    hulls: list[F64] = []
    for contour in contours:
        if len(contour) < 4:
            continue
        _, _, bw, bh = cv2.boundingRect(contour)
        if bw * bh < min_area:
            continue
        hull = cv2.convexHull(contour)
        if cv2.contourArea(hull) >= min_area:
            hulls.append(np.asarray(hull, np.float64).reshape(-1, 2))
    return hulls


def _edge_region_hulls(edges: npt.NDArray[np.uint8], min_area: float) -> list[F64]:
    """Hulls of the closed regions of an edge map: each outline blob, each hole in it, and
    unions of neighbouring holes of one blob (a card's printed band and panel are separate
    holes inside its outline, and together they make the card)."""
    contours, hierarchy = cv2.findContours(edges, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hulls: list[F64] = []
    holes: dict[int, list[tuple[float, F64]]] = {}
    for i, contour in enumerate(contours):
        if len(contour) < 4:
            continue
        _, _, bw, bh = cv2.boundingRect(contour)
        if bw * bh < 0.15 * min_area:
            # The hull cannot be larger than the bounding box; most contours end here.
            continue
        hull = np.asarray(cv2.convexHull(contour), np.float64).reshape(-1, 2)
        area = float(cv2.contourArea(hull.astype(np.float32)))
        parent = int(hierarchy[0][i][3])
        if parent >= 0 and area >= 0.15 * min_area:
            holes.setdefault(parent, []).append((area, hull))
        if area >= min_area:
            hulls.append(hull)
    for members in holes.values():
        members.sort(key=lambda m: -m[0])
        top = [hull for _, hull in members[:4]]
        for a, b in combinations(range(len(top)), 2):
            union = np.asarray(cv2.convexHull(np.vstack([top[a], top[b]]).astype(np.float32)),
                               np.float64).reshape(-1, 2)
            if cv2.contourArea(union.astype(np.float32)) >= min_area:
                hulls.append(union)
    return hulls


def _line_through(p: F64, q: F64) -> F64:
    return np.array([p[1] - q[1], q[0] - p[0], p[0] * q[1] - p[1] * q[0]])


def _intersect(l1: F64, l2: F64) -> F64 | None:
    z = l1[0] * l2[1] - l1[1] * l2[0]
    if abs(z) < 1e-9:
        return None
    return np.array([(l1[1] * l2[2] - l1[2] * l2[1]) / z, (l1[2] * l2[0] - l1[0] * l2[2]) / z])


_COMBOS: Final = {n: np.array(list(combinations(range(n), 4))) for n in range(5, 13)}


def _quads_from_hull(hull: F64) -> list[F64]:
    """Quadrilaterals that explain a convex hull: a direct 4-point simplification, the lines of
    its four longest sides (restores a corner cut off by a finger or the frame border) and the
    largest inscribed 4-gon of its simplified vertices."""
    out: list[F64] = []
    pts32 = hull.astype(np.float32).reshape(-1, 1, 2)
    perimeter = cv2.arcLength(pts32, True)
    poly = cv2.approxPolyDP(pts32, 0.012 * perimeter, True).reshape(-1, 2).astype(np.float64)
    n = len(poly)
    if n == 4:
        return [poly]
    if n < 4:
        return out
    approx = cv2.approxPolyDP(pts32, 0.04 * perimeter, True).reshape(-1, 2)
    if len(approx) == 4:
        out.append(approx.astype(np.float64))
    nxt = np.roll(poly, -1, axis=0)
    seg = np.hypot(*(nxt - poly).T)
    keep = np.sort(np.argsort(seg)[-4:])
    p, q = poly[keep], nxt[keep]
    lines = np.stack([p[:, 1] - q[:, 1], q[:, 0] - p[:, 0], p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]],
                     axis=1)
    prev = np.roll(lines, 1, axis=0)
    z = prev[:, 0] * lines[:, 1] - prev[:, 1] * lines[:, 0]
    if np.all(np.abs(z) > 1e-9):
        out.append(np.stack([(prev[:, 1] * lines[:, 2] - prev[:, 2] * lines[:, 1]) / z,
                             (prev[:, 2] * lines[:, 0] - prev[:, 0] * lines[:, 2]) / z], axis=1))
    combos = _COMBOS.get(n)
    if combos is not None:
        quads = poly[combos]
        out.append(quads[int(np.argmax(_areas(quads)))])
    return out


def _order_many(quads: F64) -> F64:
    """`geometry.order_corners` for a stack of quads at once."""
    centre = quads.mean(axis=1, keepdims=True)
    angle = np.arctan2(quads[..., 1] - centre[..., 1], quads[..., 0] - centre[..., 0])
    clockwise = np.take_along_axis(quads, np.argsort(angle, axis=1)[..., None], axis=1)
    key = clockwise[..., 0] + clockwise[..., 1]
    start = np.argmin(key - 1e-9 * clockwise[..., 1], axis=1)
    idx = (start[:, None] + np.arange(4)[None, :]) % 4
    return np.take_along_axis(clockwise, idx[..., None], axis=1)


def _plausible_many(quads: F64, area_frame: float) -> npt.NDArray[np.bool_]:
    """Convex, of document size, no corner sharper than 45 deg, aspect not beyond any document
    seen in perspective; for ordered quads (N, 4, 2)."""
    edge = np.roll(quads, -1, axis=1) - quads
    following = np.roll(edge, -1, axis=1)
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area = _areas(quads)
    sized = (area >= _MIN_AREA_FRAC * area_frame) & (area <= _MAX_AREA_FRAC * area_frame)
    length = np.hypot(edge[..., 0], edge[..., 1]) + 1e-9
    cos = -(edge * np.roll(edge, 1, axis=1)).sum(axis=2) / (length * np.roll(length, 1, axis=1))
    limit = np.cos(np.radians(_MIN_CORNER_DEG))
    angled = np.all(np.abs(cos) <= limit, axis=1)
    across = (length[:, 0] + length[:, 2]) / 2
    down = (length[:, 1] + length[:, 3]) / 2
    aspect = np.maximum(across, down) / np.maximum(np.minimum(across, down), 1e-6)
    return np.asarray(convex & sized & angled & (aspect <= _MAX_ASPECT), np.bool_)


def _dedupe(quads: F64, tolerance: float) -> F64:
    if len(quads) <= 1:
        return quads
    diff = np.abs(quads[:, None] - quads[None, :]).reshape(len(quads), len(quads), -1).max(axis=2)
    same = np.triu(diff < tolerance, k=1)
    return np.asarray(quads[~same.any(axis=0)], np.float64)


def _support(work: _Work, quads: F64, band: tuple[float, ...], samples: int) -> F64:
    """Per candidate and side, the share of stations where an edge of one consistent polarity
    runs across the side within `band` px of it; NaN for a side mostly outside the frame.

    All candidates are scored in one vectorised pass; shape (N, 4)."""
    h, w = work.gray.shape
    n = len(quads)
    t = np.linspace(0.08, 0.92, samples)
    a = quads
    d = np.roll(quads, -1, axis=1) - quads
    length = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-6)
    normal = np.stack([d[..., 1], -d[..., 0]], axis=-1) / length[..., None]
    pts = a[:, :, None, :] + t[None, None, :, None] * d[:, :, None, :]
    inside = (pts[..., 0] >= 1) & (pts[..., 0] < w - 2) & (pts[..., 1] >= 1) & (
        pts[..., 1] < h - 2)
    offs = np.asarray(band)
    probe = pts[:, :, :, None, :] + offs[None, None, None, :, None] * normal[:, :, None, None, :]
    xi = np.clip(np.rint(probe[..., 0]).astype(np.intp), 0, w - 1)
    yi = np.clip(np.rint(probe[..., 1]).astype(np.intp), 0, h - 1)
    nx, ny = normal[:, :, None, None, 0], normal[:, :, None, None, 1]
    inside_count = inside.sum(axis=2)
    support = np.zeros((n, 4))
    for gxc, gyc in work.gradients:
        gx, gy = gxc[yi, xi], gyc[yi, xi]
        proj = gx * nx + gy * ny
        # Only gradients across the side count; texture running along it does not.
        proj = np.where(np.abs(proj) > 0.6 * (np.abs(gx) + np.abs(gy)), proj, 0.0)
        pos = (proj > _EDGE_STRENGTH).any(axis=3) & inside
        neg = (proj < -_EDGE_STRENGTH).any(axis=3) & inside
        share = np.maximum(pos.sum(axis=2), neg.sum(axis=2)) / np.maximum(inside_count, 1)
        support = np.maximum(support, share)
    support[inside_count < samples * 0.3] = np.nan
    return support


_LOOSE_BAND: Final = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
_TIGHT_BAND: Final = (-1.0, 0.0, 1.0)


def _scores(work: _Work, quads: F64, band: tuple[float, ...],
            samples: int = _SIDE_SAMPLES) -> tuple[F64, F64, F64]:
    """Ranking score, confidence (mean support of the visible sides) and per-side support."""
    support = _support(work, quads, band, samples)
    seen = ~np.isnan(support)
    n_seen = seen.sum(axis=1)
    filled = np.where(seen, support, 0.0)
    good = (filled >= _MIN_SIDE_SUPPORT).sum(axis=1)
    confidence = filled.sum(axis=1) / np.maximum(n_seen, 1)
    ok = (n_seen >= 2) & (good >= np.minimum(3, n_seen))
    h, w = work.gray.shape
    area = _areas(quads)
    # Prominence grows with size, but edge evidence counts more: a quad that merges the document
    # with a hand or its shadow has weaker sides than the document itself, while the inner panel
    # of a card is smaller than the card.
    rank = np.where(ok, confidence**2 * np.sqrt(area / (h * w)) * np.sqrt(n_seen / 4), 0.0)
    return rank, np.where(ok, confidence, 0.0), support


def _candidates(work: _Work) -> list[F64]:
    h, w = work.gray.shape
    min_area = _MIN_AREA_FRAC * h * w
    kernel = np.ones((3, 3), np.uint8)
    edges = _canny_auto(work.gray, *work.gradients[0], 90.0)
    edges_sat = np.asarray(cv2.Canny(work.sat, 30, 90), np.uint8)
    hulls: list[F64] = []
    for edge_map in (edges, cv2.bitwise_or(edges, edges_sat)):
        closed = np.asarray(cv2.dilate(edge_map, kernel), np.uint8)
        hulls += _edge_region_hulls(closed, min_area)
    # Brightness/colour segmentation finds documents whose outline is broken by glare or blur.
    _, bright = cv2.threshold(work.gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    _, coloured = cv2.threshold(work.sat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for mask in (bright, cv2.bitwise_not(bright), coloured, cv2.bitwise_not(coloured)):
        opened = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel, iterations=2),
                            np.uint8)
        hulls += _contour_hulls(opened, cv2.RETR_EXTERNAL, min_area)
    hulls.sort(key=lambda hh: -cv2.contourArea(hh.astype(np.float32)))
    quads: list[F64] = []
    for hull in hulls[:_MAX_CANDIDATES]:
        quads += _quads_from_hull(hull)
    return quads


def _best_candidate(image: npt.NDArray[np.uint8], work: _Work) -> Detection | None:
    """Score all candidates loosely (they are only roughly placed), then snap the few best to
    the edges of the shrunk image and judge them again tightly."""
    h, w = work.gray.shape
    raw = _candidates(work)
    if not raw:
        return None
    quads = _order_many(np.array(raw, np.float64))
    quads = _dedupe(quads[_plausible_many(quads, h * w)], 1.5)
    if len(quads) == 0:
        return None
    rank, _, _ = _scores(work, quads, _LOOSE_BAND, samples=16)
    areas = _areas(quads)
    alive = np.flatnonzero(rank > 0)
    if alive.size == 0:
        return None
    # The best supported few plus the largest supported few: a card's inner panel is often
    # crisper than its outline, yet the outline is what is wanted.
    by_rank = alive[np.argsort(-rank[alive])][:_SHORTLIST]
    by_area = alive[np.argsort(-areas[alive])][:_SHORTLIST]
    order = list(dict.fromkeys([int(i) for i in (*by_rank, *by_area)]))
    full = (quads[order] + 0.5) * work.factor - 0.5
    refined_all, _ = _refine_many(image, full, 1.5 * work.factor + 2.0, 1.5)
    snapped = []
    for j, i in enumerate(order):
        if _accept_refined(full[j], refined_all[j]):
            small = (refined_all[j] + 0.5) / work.factor - 0.5
            ordered = _order_many(small[None])
            if _plausible_many(ordered, h * w)[0]:
                snapped.append(ordered[0])
                continue
        snapped.append(quads[i])
    quads = np.array(snapped)
    rank, confidence, support = _scores(work, quads, _TIGHT_BAND)
    ok = np.flatnonzero((rank > 0) & (confidence >= _MIN_SCORE))
    if ok.size == 0:
        return None
    top = float(confidence[ok].max())
    # The most prominent document is the largest well-supported quad; nested ones (panels,
    # photo boxes) lose to it unless its outline is much weaker.
    contenders = ok[confidence[ok] >= top - 0.25]
    best = int(contenders[np.argmax(_areas(quads[contenders]))])
    return Detection(quads[best].astype(np.float32), float(confidence[best]),
                     tuple(float(v) for v in np.nan_to_num(support[best], nan=-1.0)))


def _areas(quads: F64) -> F64:
    x, y = quads[..., 0], quads[..., 1]
    return np.asarray(
        0.5 * np.abs((x * np.roll(y, -1, axis=-1) - y * np.roll(x, -1, axis=-1)).sum(axis=-1)),
        np.float64)


# --------------------------------------------------------------------------- refinement


_REFINE_SAMPLES: Final = 32
_PAIR_INDEX: Final = np.array(list(combinations(np.linspace(0, _REFINE_SAMPLES - 1, 12).astype(int),
                                               2)))


def _edge_points(image: npt.NDArray[np.uint8], quads: F64, reach: float) -> tuple[F64, F64]:
    """For each side of each quad (K, 4, 2) and evenly spaced stations along it, the outline
    edge crossing the side within +-reach px along its outward normal, all in one remap.
    Returns points (K*4, S, 2) and strengths (K*4, S); strength 0 where nothing was seen."""
    samples = _REFINE_SAMPLES
    a = quads.reshape(-1, 2)
    d = (np.roll(quads, -1, axis=1) - quads).reshape(-1, 2)
    rows_n = len(a)
    length = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    normal = np.stack([d[:, 1], -d[:, 0]], axis=1) / length[:, None]
    t = np.linspace(0.05, 0.95, samples)
    offsets = np.arange(-reach, reach + 1.0, 1.0)
    base = a[:, None, :] + t[None, :, None] * d[:, None, :]
    grid = base[:, :, None, :] + offsets[None, None, :, None] * normal[:, None, None, :]
    map_x = grid[..., 0].reshape(rows_n * samples, -1).astype(np.float32)
    map_y = grid[..., 1].reshape(rows_n * samples, -1).astype(np.float32)
    prof = np.asarray(cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE), np.float32)
    h, w = image.shape[:2]
    valid = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    deriv = np.abs(prof[:, 2:, :] - prof[:, :-2, :]).sum(axis=2) / 2.0
    deriv *= valid[:, 2:] & valid[:, :-2]
    rows = np.arange(deriv.shape[0])
    strength = deriv.max(axis=1)
    # The outline of a document is its outermost strong edge: printed panels, bands and photo
    # frames just inside it are often stronger, so take the farthest-out position that reaches
    # half the strongest response (the normal of a clockwise quad points outward).
    strong = deriv >= 0.5 * strength[:, None]
    last = deriv.shape[1] - 1
    k = last - np.argmax(strong[:, ::-1], axis=1)
    for _ in range(2):
        up = np.minimum(k + 1, last)
        k = np.where(deriv[rows, up] > deriv[rows, k], up, k)
    kc = np.clip(k, 1, last - 1)
    left, mid, right = deriv[rows, kc - 1], deriv[rows, kc], deriv[rows, kc + 1]
    denom = left - 2 * mid + right
    safe = np.where(np.abs(denom) > 1e-6, denom, 1.0)
    sub = np.where(np.abs(denom) > 1e-6, 0.5 * (left - right) / safe, 0.0)
    sub = np.clip(sub, -0.5, 0.5) * (kc == k)
    offset = (offsets[1:-1][k] + sub).reshape(rows_n, samples)
    pts = base + offset[:, :, None] * normal[:, None, :]
    inside = (pts[..., 0] > 1) & (pts[..., 0] < w - 2) & (pts[..., 1] > 1) & (pts[..., 1] < h - 2)
    return pts, np.where(inside, strength.reshape(rows_n, samples), 0.0)


def _robust_lines(pts: F64, usable: npt.NDArray[np.bool_], tolerance: float) -> tuple[F64, F64]:
    """Per row of points (M, S, 2), the line (a, b, c), a^2 + b^2 = 1, through the largest
    consistent subset of its usable points (a thumb or glare spoils a minority), and the share
    of stations on it."""
    p, q = pts[:, _PAIR_INDEX[:, 0]], pts[:, _PAIR_INDEX[:, 1]]
    pair_ok = usable[:, _PAIR_INDEX[:, 0]] & usable[:, _PAIR_INDEX[:, 1]]
    d = q - p
    norm = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    nx, ny = d[..., 1] / norm, -d[..., 0] / norm
    c = -(nx * p[..., 0] + ny * p[..., 1])
    resid = np.abs(nx[..., None] * pts[:, None, :, 0] + ny[..., None] * pts[:, None, :, 1]
                   + c[..., None])
    close = (resid < tolerance) & usable[:, None, :]
    counts = np.where(pair_ok, close.sum(axis=2), -1)
    best = np.argmax(counts, axis=1)
    inlier = close[np.arange(len(pts)), best]
    weight = inlier.astype(np.float64)
    total = np.maximum(weight.sum(axis=1), 1e-9)
    centre = (pts * weight[..., None]).sum(axis=1) / total[:, None]
    dev = (pts - centre[:, None, :]) * np.sqrt(weight)[..., None]
    sxx = (dev[..., 0] ** 2).sum(axis=1)
    syy = (dev[..., 1] ** 2).sum(axis=1)
    sxy = (dev[..., 0] * dev[..., 1]).sum(axis=1)
    # Total least squares: the line direction is the principal axis of the inliers.
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    dx, dy = np.cos(theta), np.sin(theta)
    lines = np.stack([dy, -dx, -(dy * centre[:, 0] - dx * centre[:, 1])], axis=1)
    return lines, weight.sum(axis=1) / pts.shape[1]


def _refine_many(image: npt.NDArray[np.uint8], quads: F64, reach: float,
                 tolerance: float) -> tuple[F64, F64]:
    """Snap each side of each quad (K, 4, 2) to the outline edge near it and intersect
    neighbouring sides. A side with too little evidence (hidden, or outside the frame) keeps
    its current position. Returns quads (K, 4, 2) and per-side shares of stations on the line."""
    n = len(quads)
    pts, strength = _edge_points(image, quads, reach)
    seen = strength > 0
    counts = np.maximum(seen.sum(axis=1), 1)
    floor = np.where(seen.any(axis=1),
                     np.sort(np.where(seen, strength, np.inf), axis=1)[
                         np.arange(len(strength)), counts // 2], 0.0)
    usable = seen & (strength >= np.maximum(6.0, 0.25 * floor)[:, None])
    lines, share = _robust_lines(pts, usable, tolerance)
    keep = share >= 0.3
    a = quads.reshape(-1, 2)
    b = np.roll(quads, -1, axis=1).reshape(-1, 2)
    current = np.stack(
        [a[:, 1] - b[:, 1], b[:, 0] - a[:, 0], a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)
    lines = np.where(keep[:, None], lines, current).reshape(n, 4, 3)
    prev = np.roll(lines, 1, axis=1)
    z = prev[..., 0] * lines[..., 1] - prev[..., 1] * lines[..., 0]
    ok = np.all(np.abs(z) > 1e-9, axis=1)
    zs = np.where(np.abs(z) > 1e-9, z, 1.0)
    corners = np.stack([(prev[..., 1] * lines[..., 2] - prev[..., 2] * lines[..., 1]) / zs,
                        (prev[..., 2] * lines[..., 0] - prev[..., 0] * lines[..., 2]) / zs],
                       axis=-1)
    corners = np.where(ok[:, None, None], corners, quads)
    return corners, np.where(keep, share, 0.0).reshape(n, 4)


def _refine(image: npt.NDArray[np.uint8], quad: F64, reach: float,
            tolerance: float) -> tuple[F64, F64]:
    refined, share = _refine_many(image, quad[None], reach, tolerance)
    return refined[0], share[0]


def _accept_refined(before: F64, after: F64) -> bool:
    if not is_convex(after):
        return False
    scale = float(np.sqrt(abs(signed_area(before))))
    moved = float(np.linalg.norm(after - before, axis=1).max())
    area_ratio = abs(signed_area(after)) / max(abs(signed_area(before)), 1e-9)
    return moved < 0.25 * scale and 0.7 < area_ratio < 1.4


def find_document(image_bgr: npt.NDArray[np.uint8]) -> Detection | None:
    """Like `detect_document` but also returns the score and the support of each side."""
    image = _as_bgr(image_bgr)
    work = _prepare(image)
    found = _best_candidate(image, work)
    if found is None:
        return None
    quad = (found.quad.astype(np.float64) + 0.5) * work.factor - 0.5
    for reach, tolerance in ((3.0, 1.0),):
        refined, _ = _refine(image, quad, reach, tolerance)
        if _accept_refined(quad, refined):
            quad = refined
    quad = _grow_to_outline(image, quad)
    if not _straight_sides(image, quad):
        return None
    return Detection(order_corners(quad), found.score, found.side_support)


_DOCUMENT_ASPECTS: Final = np.array([85.6 / 54.0, 297.0 / 210.0, 125.0 / 88.0])


def _aspect_error(quad: F64) -> float:
    """How far the apparent aspect is from the nearest document aspect (log ratio)."""
    sides = np.hypot(*(np.roll(quad, -1, axis=0) - quad).T)
    across, down = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    aspect = max(across, down) / max(min(across, down), 1e-6)
    return float(np.abs(np.log(aspect / _DOCUMENT_ASPECTS)).min())


def _grow_to_outline(image: npt.NDArray[np.uint8], quad: F64) -> F64:
    """Push a side outward onto a parallel straight edge when that brings the quad to a
    document's proportions: a printed band along a card's edge (a green KPJ header on a green
    desk) can out-contrast the card's own outline, so the first quad found is the panel inside."""
    h, w = image.shape[:2]
    if _aspect_error(quad) < 0.07:
        # Already shaped like a document; growing could only reach a shadow or the desk.
        return quad
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(d[0], d[1]))
        depth = float(np.linalg.norm(quad[(i + 2) % 4] - b) + np.linalg.norm(quad[i - 1] - a)) / 2
        reach = int(min(0.4 * depth, 160.0))
        if length < 1e-6 or reach < 6:
            continue
        normal = np.array([d[1], -d[0]]) / length
        t = np.linspace(0.1, 0.9, _REFINE_SAMPLES)
        offsets = np.arange(-1.0, reach + 1.0)
        base = a[None, :] + t[:, None] * d[None, :]
        grid = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
        prof = np.asarray(cv2.remap(image, grid[..., 0].astype(np.float32),
                                    grid[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE), np.float32)
        deriv = np.abs(prof[:, 2:, :] - prof[:, :-2, :]).sum(axis=2) / 2.0
        inner = deriv[:, :4].max(axis=1)
        # First clear edge beyond the current one, per station.
        beyond = deriv[:, 5:]
        peak = (beyond >= np.maximum(10.0, 0.3 * inner)[:, None]) & (
            beyond >= np.roll(beyond, 1, axis=1)) & (beyond >= np.roll(beyond, -1, axis=1))
        found = peak.any(axis=1)
        if found.sum() < _REFINE_SAMPLES * 0.6:
            continue
        k = np.argmax(peak, axis=1) + 5
        pts = base + offsets[1:-1][k][:, None] * normal[None, :]
        inside = found & (pts[:, 0] > 1) & (pts[:, 0] < w - 2) & (pts[:, 1] > 1) & (
            pts[:, 1] < h - 2)
        lines, share = _robust_lines(pts[None], inside[None], 1.5)
        if share[0] < 0.6:
            continue
        side = lines[0]
        prev_line = _line_through(quad[i - 1], quad[i])
        next_line = _line_through(quad[(i + 1) % 4], quad[(i + 2) % 4])
        c1, c2 = _intersect(prev_line, side), _intersect(side, next_line)
        if c1 is None or c2 is None:
            continue
        grown = quad.copy()
        grown[i], grown[(i + 1) % 4] = c1, c2
        if not is_convex(grown):
            continue
        if _aspect_error(grown) < _aspect_error(quad) - 0.05 and _aspect_error(grown) < 0.2:
            quad = grown
    return quad


def _straight_sides(image: npt.NDArray[np.uint8], quad: F64) -> bool:
    """Final check at full resolution: the outline must run along straight lines. Curved
    things (heads, mugs, hands) can be boxed by a quad whose sides touch edges here and there,
    but their edge points do not line up within a pixel."""
    pts, strength = _edge_points(image, quad[None], 3.0)
    seen = strength > 0
    usable = seen & (strength >= 6.0)
    _, share = _robust_lines(pts, usable, 1.2)
    visible = seen.mean(axis=1) >= 0.3
    straight = visible & (share >= _MIN_STRAIGHT_SHARE)
    return bool(visible.sum() >= 2 and straight.sum() >= min(3, int(visible.sum())))


def _as_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    return np.ascontiguousarray(image, dtype=np.uint8)


def detect_document(image_bgr: npt.NDArray[np.uint8]) -> Quad | None:
    """Corners of the most prominent document, or None when there is none.

    Returns a float32 array of shape (4, 2) ordered top-left, top-right, bottom-right,
    bottom-left, in pixel coordinates of `image_bgr`. Corners of a document partly outside the
    frame may lie outside the image.
    """
    found = find_document(image_bgr)
    return None if found is None else found.quad
