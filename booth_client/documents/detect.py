"""Find the most prominent document (card, page, bank book) in a camera frame.

The search runs on a copy shrunk to 320-640 px on the long side. Candidate quadrilaterals come
in two rounds: first the outlines of regions (grey + saturation edge map, Otsu brightness and
colour masks); only when that gives no confident, document-shaped quad of some size, the regions
of the grey edge map alone and quads bounded by two pairs of roughly parallel long lines (Hough
segments merged into lines), which survive fingers across the outline. Each quad is scored by
how much of each side has a straight, consistently signed edge right along it; the few best are
snapped to the full-resolution edges and judged again. The winner is chosen on support, on how
close its perspective-corrected aspect is to a document's, and on size, then pushed out onto
parallel edges further out when that makes it better shaped (a card's printed header can
out-contrast its own outline). Finally each side is refitted at full resolution (robust line
through the outermost edge points, so rounded corners and thumbs do not pull the corners in),
and the result must score above a floor calibrated on negatives and run along straight lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, is_convex, order_corners, signed_area
from .kinds import A4_PAGE, BANK_BOOK_PAGE, ID1_CARD

F64 = npt.NDArray[np.float64]

_NEXT: Final = np.array([1, 2, 3, 0])
_PREV: Final = np.array([3, 0, 1, 2])

_WORK_LONG_SIDE: Final = 320
_MIN_AREA_FRAC: Final = 0.02
_MAX_AREA_FRAC: Final = 0.97
_MIN_CORNER_DEG: Final = 55.0
_MAX_ASPECT: Final = 2.6
# Long/short sides of the documents asked for: ID-1 cards, A4 pages, bank-book pages.
_DOCUMENT_ASPECTS: Final = np.array([ID1_CARD.aspect, A4_PAGE.aspect, BANK_BOOK_PAGE.aspect])
_SIDE_SAMPLES: Final = 24
_MIN_SIDE_SUPPORT: Final = 0.55
_MIN_SCORE: Final = 0.6
_MIN_FINAL_SCORE: Final = 0.72
_MAX_CANDIDATES: Final = 30
_EDGE_STRENGTH: Final = 40.0
_EDGE_FLOOR: Final = 16.0
_SHORTLIST: Final = 2
_MIN_STRAIGHT_SHARE: Final = 0.4
_STRAIGHT_STRENGTH: Final = 6.0


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
    # Per channel, the gradient across a side that counts as an edge.
    strengths: tuple[float, ...] = (40.0, 40.0)


def _shrink(image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
    small, factor = image, 1.0
    while max(small.shape[:2]) >= 4 * _WORK_LONG_SIDE:
        # Halving by bilinear resize averages 2x2 blocks, at a third of pyrDown's cost.
        h, w = small.shape[:2]
        small = np.asarray(cv2.resize(small, ((w + 1) // 2, (h + 1) // 2),
                                      interpolation=cv2.INTER_LINEAR), np.uint8)
        factor *= 2.0
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
    # In a dark frame every contrast shrinks with the light: the grey edge threshold follows
    # the frame's strongest gradients down to a floor above sensor noise. Saturation is a ratio
    # and does not shrink (it only gets noisier), so its threshold stays.
    gx, gy = gradients[0]
    strong = np.abs(gx[::2, ::2]) + np.abs(gy[::2, ::2])
    k = int(0.98 * (strong.size - 1))
    grey = float(np.clip(0.2 * np.partition(strong.ravel(), k)[k], _EDGE_FLOOR, _EDGE_STRENGTH))
    return _Work(small, gray, sat, gradients, factor, (grey, _EDGE_STRENGTH))


def _canny_auto(channel: npt.NDArray[np.uint8], gx: npt.NDArray[np.float32],
                gy: npt.NDArray[np.float32], percentile: float) -> npt.NDArray[np.uint8]:
    mag = np.abs(gx[::3, ::3]) + np.abs(gy[::3, ::3])
    k = int(percentile / 100.0 * (mag.size - 1))
    high = float(np.clip(np.partition(mag.ravel(), k)[k], 40.0, 400.0))
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
    edge = quads[:, _NEXT] - quads
    following = edge[:, _NEXT]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area = _areas(quads)
    sized = (area >= _MIN_AREA_FRAC * area_frame) & (area <= _MAX_AREA_FRAC * area_frame)
    length = np.hypot(edge[..., 0], edge[..., 1]) + 1e-9
    cos = -(edge * edge[:, _PREV]).sum(axis=2) / (length * length[:, _PREV])
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
    d = quads[:, _NEXT] - quads
    length = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-6)
    normal = np.stack([d[..., 1], -d[..., 0]], axis=-1) / length[..., None]
    pts = a[:, :, None, :] + t[None, None, :, None] * d[:, :, None, :]
    inside = (pts[..., 0] >= 1) & (pts[..., 0] < w - 2) & (pts[..., 1] >= 1) & (
        pts[..., 1] < h - 2)
    offs = np.asarray(band)
    probe = pts[:, :, :, None, :] + offs[None, None, None, :, None] * normal[:, :, None, None, :]
    xi = np.clip(np.rint(probe[..., 0]).astype(np.intp), 0, w - 1)
    yi = np.clip(np.rint(probe[..., 1]).astype(np.intp), 0, h - 1)
    flat = yi * w + xi
    nx = normal[:, :, None, None, 0].astype(np.float32)
    ny = normal[:, :, None, None, 1].astype(np.float32)
    inside_count = inside.sum(axis=2)
    support = np.zeros((n, 4))
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat), gyc.ravel().take(flat)
        proj = gx * nx + gy * ny
        # Only gradients across the side count; texture running along it does not.
        across = np.abs(proj) > 0.6 * (np.abs(gx) + np.abs(gy))
        pos = ((proj > strength) & across).any(axis=3) & inside
        neg = ((proj < -strength) & across).any(axis=3) & inside
        share = np.maximum(pos.sum(axis=2), neg.sum(axis=2)) / np.maximum(inside_count, 1)
        support = np.maximum(support, share)
    support[inside_count < samples * 0.3] = np.nan
    return support


_LOOSE_BAND: Final = (-3.0, -1.5, 0.0, 1.5, 3.0)
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


# Focal length over frame width: ~0.75-0.9 for webcams and phones (60-75 degrees across); the
# aspect estimate is not sensitive to it at moderate tilt.
_FOCAL_PER_WIDTH: Final = 0.9
_OPTION_STATIONS: Final = np.linspace(0.1, 0.9, 32)
_OPTION_TILTS: Final = np.arange(-6.0, 7.0, 1.0)


def _cross3(p: F64, q: F64) -> F64:
    """Row-wise cross product of (N, 3) arrays (np.cross is slow on small arrays)."""
    return np.stack([p[..., 1] * q[..., 2] - p[..., 2] * q[..., 1],
                     p[..., 2] * q[..., 0] - p[..., 0] * q[..., 2],
                     p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]], axis=-1)


def _true_aspects(quads: F64, width: float, height: float) -> F64:
    """Long/short aspect of the rectangles seen as ordered quads (N, 4, 2), undoing perspective
    with a pinhole camera of focal length about the frame width, principal point at the centre
    (Zhang and He, whiteboard scanning). Falls back to the mean side ratio where that fails."""
    u0, v0, f = width / 2.0, height / 2.0, _FOCAL_PER_WIDTH * width
    ones = np.ones((*quads.shape[:2], 1))
    # Zhang-He order: m1 top-left, m2 top-right, m3 bottom-left, m4 bottom-right.
    m = np.concatenate([quads, ones], axis=2)
    m1, m2, m3, m4 = m[:, 0], m[:, 1], m[:, 3], m[:, 2]
    c14 = _cross3(m1, m4)
    d2 = (_cross3(m2, m4) * m3).sum(axis=1)
    d3 = (_cross3(m3, m4) * m2).sum(axis=1)
    k2 = (c14 * m3).sum(axis=1) / np.where(np.abs(d2) > 1e-12, d2, 1e-12)
    k3 = (c14 * m2).sum(axis=1) / np.where(np.abs(d3) > 1e-12, d3, 1e-12)
    n2 = k2[:, None] * m2 - m1
    n3 = k3[:, None] * m3 - m1

    def norm2(n: F64) -> F64:
        x = (n[:, 0] - u0 * n[:, 2]) / f
        y = (n[:, 1] - v0 * n[:, 2]) / f
        return np.asarray(x * x + y * y + n[:, 2] ** 2, np.float64)

    ratio = np.sqrt(np.maximum(norm2(n2), 1e-12) / np.maximum(norm2(n3), 1e-12))
    sides = np.hypot(*(quads[:, _NEXT] - quads).transpose(2, 0, 1))
    naive = (sides[:, 0] + sides[:, 2]) / np.maximum(sides[:, 1] + sides[:, 3], 1e-9)
    ratio = np.where(np.isfinite(ratio) & (ratio > 0.2) & (ratio < 5.0), ratio, naive)
    return np.asarray(np.maximum(ratio, 1.0 / np.maximum(ratio, 1e-9)), np.float64)


def _aspect_errors(quads: F64, width: float, height: float) -> F64:
    """|log| distance of the perspective-corrected aspect to the nearest document aspect."""
    aspect = _true_aspects(quads, width, height)
    return np.asarray(np.abs(np.log(aspect[:, None] / _DOCUMENT_ASPECTS[None, :])).min(axis=1),
                      np.float64)


def _side_options(work: _Work, quad: F64) -> list[F64]:
    """Per side of an ordered quad, the lines (a, b, c) it could really lie on: its own, and
    straight edges running along it further out. A card's printed band or panel can out-contrast
    its outline (a green header on a green shirt), so the first quad found is often inside."""
    h, w = work.gray.shape
    t = _OPTION_STATIONS
    stations = len(t)
    a = quad
    d = np.roll(quad, -1, axis=0) - quad
    length = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
    depth = (np.linalg.norm(np.roll(quad, -2, axis=0) - np.roll(quad, -1, axis=0), axis=1)
             + np.linalg.norm(np.roll(quad, 1, axis=0) - quad, axis=1)) / 2
    reach = np.minimum(0.6 * depth, 80.0).astype(int)
    normal = np.stack([d[:, 1], -d[:, 0]], axis=1) / length[:, None]
    offsets = np.arange(-2, int(reach.max()) + 3)
    pts = (a[:, None, None, :] + t[None, :, None, None] * d[:, None, None, :]
           + offsets[None, None, :, None] * normal[:, None, None, :])  # (4, S, K, 2)
    xi = np.rint(pts[..., 0]).astype(np.intp)
    yi = np.rint(pts[..., 1]).astype(np.intp)
    valid = (xi >= 1) & (xi < w - 1) & (yi >= 1) & (yi < h - 1)
    valid &= offsets[None, None, :] <= reach[:, None, None]
    flat = np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)
    nx = normal[:, 0, None, None].astype(np.float32)
    ny = normal[:, 1, None, None].astype(np.float32)
    hits = []
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat), gyc.ravel().take(flat)
        proj = gx * nx + gy * ny
        across = (np.abs(proj) > 0.6 * (np.abs(gx) + np.abs(gy))) & valid
        hits += [(proj > strength) & across, (proj < -strength) & across]
    raw = np.stack(hits)  # (4 maps, 4 sides, S, K)
    # Edges of a side seen in perspective drift a little against it; 2 px either way.
    wide = raw.copy()
    for shift in (1, 2):
        wide[..., shift:] |= raw[..., :-shift]
        wide[..., :-shift] |= raw[..., shift:]
    n_valid = valid.sum(axis=1)  # (4 sides, K)
    share = wide.sum(axis=2) / np.maximum(n_valid, 1)[None]
    share = np.where((n_valid >= 0.6 * stations)[None], share, 0.0)
    best_map = share.argmax(axis=0)  # (4, K)
    profile = share.max(axis=0)
    options: list[F64] = []
    first = 6  # offsets[first] = 4 px: further out than the side's own edge
    for i in range(4):
        own = _line_through(quad[i], quad[(i + 1) % 4])
        found = [own]
        prof = profile[i]
        peaks = [j for j in range(first, len(offsets))
                 if prof[j] >= 0.55 and prof[j] >= prof[max(0, j - 2):j + 3].max()
                 and prof[j] > prof[j - 1]]
        chosen = set()
        if peaks:
            chosen.add(peaks[-1])
            chosen.add(max(peaks, key=lambda j: prof[j]))
        for j in sorted(chosen):
            m = raw[best_map[i, j], i][:, max(0, j - 2):j + 3]  # (S, 5)
            has = m.any(axis=1)
            if has.sum() < 0.4 * stations:
                continue
            # The hit nearest the peak offset at each station, then a robust line through them.
            dist = np.where(m, np.abs(np.arange(m.shape[1]) - min(2, j)), 99)
            k = j - min(2, j) + dist.argmin(axis=1)
            p = pts[i, np.arange(stations), k]
            lines, frac, _ = _robust_lines(p[None], has[None], 1.0)
            if frac[0] < 0.4:
                continue
            line = lines[0]
            # Same orientation convention as `_line_through` (normal pointing inward).
            if line[0] * (quad[(i + 2) % 4][0]) + line[1] * quad[(i + 2) % 4][1] + line[2] < 0:
                line = -line
            found.append(line)
        options.append(np.array(found))
    return options


def _outer_variants(work: _Work, quad: F64) -> F64:
    """All quads made of one option per side (see `_side_options`); the first is `quad`."""
    options = _side_options(work, quad)
    if all(len(o) == 1 for o in options):
        return quad[None]
    grids = np.meshgrid(*[np.arange(len(o)) for o in options], indexing="ij")
    choice = np.stack([g.ravel() for g in grids], axis=1)
    lines = np.stack([options[i][choice[:, i]] for i in range(4)], axis=1)  # (M, 4, 3)
    prev = lines[:, _PREV]
    z = prev[..., 0] * lines[..., 1] - prev[..., 1] * lines[..., 0]
    zs = np.where(np.abs(z) > 1e-9, z, 1e-9)
    corners = np.stack([(prev[..., 1] * lines[..., 2] - prev[..., 2] * lines[..., 1]) / zs,
                        (prev[..., 2] * lines[..., 0] - prev[..., 0] * lines[..., 2]) / zs],
                       axis=-1)
    corners[0] = quad
    return np.asarray(corners, np.float64)


_ASPECT_SLACK: Final = 0.05
_ASPECT_WEIGHT: Final = 1.0
_AREA_WEIGHT: Final = 0.1


# What a side outside the frame is worth in the selection and the final score: it is neither
# evidence for nor against, but a quad reaching far out of the frame with two sides supported
# must not outrank a document seen whole.
_UNSEEN_SIDE: Final = 0.35


def _selection_value(quads: F64, support: F64, width: float, height: float) -> F64:
    """Support of all four sides (one outside the frame counts half: unseen, it is neither
    evidence for nor against), minus the distance from a document's shape, plus a little for
    size."""
    seen = ~np.isnan(support)
    evidence = np.where(seen, support, _UNSEEN_SIDE).mean(axis=1)
    aspect = np.maximum(_aspect_errors(quads, width, height) - _ASPECT_SLACK, 0.0)
    size = np.log(np.maximum(_areas(quads), 1e-9) / (width * height))
    return np.asarray(evidence - _ASPECT_WEIGHT * aspect + _AREA_WEIGHT * size, np.float64)


_SETTLED: Final = 0.9
_SETTLED_ASPECT: Final = 0.04


def _prefer_outline(work: _Work, quad: F64) -> tuple[F64, F64, F64]:
    """Among `quad` and its variants with sides moved out onto parallel edges, the one best
    supported and shaped like a document; returned first, with its confidence and support."""
    h, w = work.gray.shape
    rank, confidence, support = _scores(work, quad[None], _TIGHT_BAND)
    if confidence[0] >= _SETTLED and _aspect_errors(quad[None], w, h)[0] <= _SETTLED_ASPECT:
        # Crisp all round and shaped like a document already: no band or panel inside it.
        return quad[None], confidence, support
    variants = _outer_variants(work, quad)
    keep = _plausible_many(variants, h * w)
    keep[0] = True
    variants = variants[keep]
    rank, confidence, support = _scores(work, variants, _LOOSE_BAND)
    value = _selection_value(variants, support, w, h)
    value = np.where((rank > 0) & (confidence >= _MIN_SCORE), value, -np.inf)
    value[0] = max(value[0], -1e9)
    i = int(np.argmax(value))
    order = [i] + [j for j in range(len(variants)) if j != i]
    tight_rank, tight_conf, tight_support = _scores(work, variants[order[:1]], _TIGHT_BAND)
    del tight_rank
    return variants[order[:1]], tight_conf, tight_support


_MAX_LINES: Final = 14
_MAX_LINE_QUADS: Final = 80


def _merged_lines(edges: npt.NDArray[np.uint8]) -> F64:
    """Long straight edges as lines (cos t, sin t, -rho) with x cos t + y sin t = rho, the
    strongest first: Hough segments merged when they lie on one line."""
    h, w = edges.shape
    found = cv2.HoughLinesP(edges, 1.0, np.pi / 180, threshold=18,
                            minLineLength=max(10.0, 0.06 * max(h, w)), maxLineGap=4.0)
    if found is None:
        return np.zeros((0, 4))
    seg = np.asarray(found, np.float64).reshape(-1, 4)
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    order = np.argsort(-length)[:100]
    seg, d, length = seg[order], d[order], length[order]
    theta = np.arctan2(d[:, 0], -d[:, 1]) % np.pi  # angle of the normal
    cos, sin = np.cos(theta), np.sin(theta)
    mid = (seg[:, :2] + seg[:, 2:]) / 2
    rho = mid[:, 0] * cos + mid[:, 1] * sin
    dt = np.abs(theta[:, None] - theta[None, :])
    # Row i: the segments lying on the line of segment i.
    same = (np.minimum(dt, np.pi - dt) < np.radians(4.0)) & (
        np.abs(mid[None, :, 0] * cos[:, None] + mid[None, :, 1] * sin[:, None] - rho[:, None])
        < 2.5)
    free = np.ones(len(seg), np.bool_)
    rows: list[tuple[float, float, float, float]] = []
    for i in range(len(seg)):
        if not free[i]:
            continue
        members = same[i] & free
        free &= ~members
        rows.append((float(cos[i]), float(sin[i]), float(-rho[i]), float(length[members].sum())))
        if len(rows) >= 3 * _MAX_LINES:
            break
    rows.sort(key=lambda r: -r[3])
    return np.array(rows[:_MAX_LINES], np.float64).reshape(-1, 4)


def _line_quads(edges: npt.NDArray[np.uint8]) -> F64:
    """Quads bounded by two pairs of roughly parallel long lines: the outline of a card held
    with fingers over its edges, or with its printed bands inside, is such a pair of pairs."""
    lines = _merged_lines(edges)
    n = len(lines)
    if n < 4:
        return np.zeros((0, 4, 2))
    angle = np.arctan2(lines[:, 1], lines[:, 0]) % np.pi
    diff = np.abs(angle[:, None] - angle[None, :])
    diff = np.minimum(diff, np.pi - diff)
    ii, jj = np.triu_indices(n, 1)
    parallel = diff[ii, jj] < np.radians(25.0)
    pi_, pj = ii[parallel], jj[parallel]
    if len(pi_) < 2:
        return np.zeros((0, 4, 2))
    a, b = np.triu_indices(len(pi_), 1)
    l1, l2, l3, l4 = pi_[a], pj[a], pi_[b], pj[b]
    mean_a = angle[l1]
    mean_b = angle[l3]
    cross = np.abs(mean_a - mean_b)
    cross = np.minimum(cross, np.pi - cross)
    distinct = (l1 != l3) & (l1 != l4) & (l2 != l3) & (l2 != l4) & (cross > np.radians(40.0))
    l1, l2, l3, l4 = l1[distinct], l2[distinct], l3[distinct], l4[distinct]
    if len(l1) == 0:
        return np.zeros((0, 4, 2))
    weight = lines[l1, 3] + lines[l2, 3] + lines[l3, 3] + lines[l4, 3]
    keep = np.argsort(-weight)[:_MAX_LINE_QUADS]
    homog = lines[:, :3]
    order = np.stack([l1[keep], l3[keep], l2[keep], l4[keep]], axis=1)  # around the quad
    ls = homog[order]  # (M, 4, 3)
    nxt = ls[:, _NEXT]
    pts = _cross3(ls, nxt)
    z = pts[..., 2]
    ok = np.all(np.abs(z) > 1e-9, axis=1)
    corners = pts[ok, :, :2] / pts[ok, :, 2:]
    return np.asarray(corners, np.float64)


def _dedupe_hulls(hulls: list[F64]) -> list[F64]:
    """The same region often comes from several sources; one hull per bounding box is enough.
    The largest first, at most `_MAX_CANDIDATES`."""
    if not hulls:
        return []
    boxes = np.array([[*hh.min(axis=0), *hh.max(axis=0)] for hh in hulls]).reshape(-1, 4)
    spans = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    for i in np.argsort(-spans, kind="stable"):
        if len(kept) >= _MAX_CANDIDATES:
            break
        if kept and np.abs(boxes[kept] - boxes[i]).max(axis=1).min() <= 1.5:
            continue
        kept.append(int(i))
    return [hulls[i] for i in kept]


def _hull_quads(hulls: list[F64]) -> list[F64]:
    quads: list[F64] = []
    for hull in _dedupe_hulls(hulls):
        quads += _quads_from_hull(hull)
    return quads


def _hull_candidates(work: _Work) -> tuple[list[F64], npt.NDArray[np.uint8],
                                           npt.NDArray[np.uint8]]:
    """Quads from the outlines of regions (grey + saturation edge map, brightness/colour
    segmentation), and the grey and combined edge maps for the second round."""
    h, w = work.gray.shape
    min_area = _MIN_AREA_FRAC * h * w
    edges = _canny_auto(work.gray, *work.gradients[0], 90.0)
    edges_sat = np.asarray(cv2.Canny(work.sat, 30, 90), np.uint8)
    both = np.asarray(cv2.bitwise_or(edges, edges_sat), np.uint8)
    hulls = _edge_region_hulls(np.asarray(cv2.dilate(both, _KERNEL), np.uint8), min_area)
    # Brightness/colour segmentation finds documents whose outline is broken by glare or blur.
    _, bright = cv2.threshold(work.gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    _, coloured = cv2.threshold(work.sat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for mask in (bright, cv2.bitwise_not(bright), coloured, cv2.bitwise_not(coloured)):
        opened = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL, iterations=2),
                            np.uint8)
        hulls += _contour_hulls(opened, cv2.RETR_EXTERNAL, min_area)
    return _hull_quads(hulls), edges, both


def _second_round_candidates(work: _Work, edges: npt.NDArray[np.uint8],
                             both: npt.NDArray[np.uint8]) -> F64:
    """Regions of the grey edge map alone (saturation noise can break them in the combined
    map) and quads bounded by long straight lines."""
    h, w = work.gray.shape
    closed = np.asarray(cv2.dilate(edges, _KERNEL), np.uint8)
    quads = _hull_quads(_edge_region_hulls(closed, _MIN_AREA_FRAC * h * w))
    lines = _line_quads(both)
    if not quads:
        return lines
    return np.concatenate([np.asarray(quads, np.float64).reshape(-1, 4, 2), lines])


_KERNEL: Final = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class _Pick:
    quad: F64
    confidence: float
    value: float


_CONFIDENT: Final = 0.8
_CONFIDENT_AREA: Final = 0.07


def _pick(image: npt.NDArray[np.uint8], work: _Work, raw: list[F64] | F64) -> _Pick | None:
    """Score candidates loosely (they are only roughly placed), snap the few best to the edges
    of the full frame, judge them again tightly and pick the most prominent document."""
    h, w = work.gray.shape
    if len(raw) == 0:
        return None
    quads = _order_many(np.asarray(raw, np.float64).reshape(-1, 4, 2))
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
    small = _order_many((refined_all + 0.5) / work.factor - 0.5)
    good = _accept_many(full, refined_all) & _plausible_many(small, h * w)
    # Judge both the snapped and the unsnapped quad tightly; snapping in a dark or blurred
    # frame sometimes lands on noise, and then the quad as found was better.
    both = np.concatenate([np.where(good[:, None, None], small, quads[order]), quads[order]])
    rank, confidence, support = _scores(work, both, _TIGHT_BAND)
    m = len(order)
    snapped_better = confidence[:m] >= confidence[m:]
    pick = np.where(snapped_better, np.arange(m), np.arange(m) + m)
    quads, rank, confidence, support = both[pick], rank[pick], confidence[pick], support[pick]
    ok = np.flatnonzero((rank > 0) & (confidence >= _MIN_SCORE))
    if ok.size == 0:
        return None
    # The most prominent document: well supported, shaped like a document, and large; nested
    # panels and photo boxes lose on size and shape, a document merged with a hand or a shadow
    # loses on support. A quad inside the outline is pushed out in `_prefer_outline`.
    value = _selection_value(quads[ok], support[ok], w, h)
    j = int(np.argmax(value))
    best = int(ok[j])
    return _Pick(quads[best], float(confidence[best]), float(value[j]))


def _best_candidate(image: npt.NDArray[np.uint8], work: _Work) -> Detection | None:
    """Region outlines first; when they give no confident, document-shaped quad of some size,
    quads bounded by long straight lines too (they cost more, and find cards whose outline
    does not close: fingers across it, a band the colour of the background)."""
    h, w = work.gray.shape
    raw, edges, both = _hull_candidates(work)
    picked = _pick(image, work, raw)
    outline = None if picked is None else _prefer_outline(work, picked.quad)
    confident = False
    if outline is not None:
        quad, _, support = outline
        evidence = float(np.where(np.isnan(support[0]), _UNSEEN_SIDE, support[0]).mean())
        confident = (evidence >= _CONFIDENT
                     and float(_aspect_errors(quad, w, h)[0]) <= _ASPECT_SLACK + 0.01
                     and float(_areas(quad)[0]) >= _CONFIDENT_AREA * h * w)
    if not confident:
        by_lines = _pick(image, work, _second_round_candidates(work, edges, both))
        if by_lines is not None and (picked is None or by_lines.value > picked.value):
            outline = _prefer_outline(work, by_lines.quad)
    if outline is None:
        return None
    quads, confidence, support = outline
    return Detection(quads[0].astype(np.float32), float(confidence[0]),
                     tuple(float(v) for v in np.nan_to_num(support[0], nan=-1.0)))


def _areas(quads: F64) -> F64:
    x, y = quads[..., 0], quads[..., 1]
    return np.asarray(
        0.5 * np.abs((x * y[..., _NEXT] - y * x[..., _NEXT]).sum(axis=-1)),
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
    d = (quads[:, _NEXT] - quads).reshape(-1, 2)
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


def _robust_lines(pts: F64, usable: npt.NDArray[np.bool_],
                  tolerance: float | F64) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
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
    return lines, weight.sum(axis=1) / pts.shape[1], inlier


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
    lines, share, _ = _robust_lines(pts, usable, tolerance)
    keep = share >= 0.3
    a = quads.reshape(-1, 2)
    b = quads[:, _NEXT].reshape(-1, 2)
    current = np.stack(
        [a[:, 1] - b[:, 1], b[:, 0] - a[:, 0], a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], axis=1)
    lines = np.where(keep[:, None], lines, current).reshape(n, 4, 3)
    prev = lines[:, _PREV]
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


def _accept_many(before: F64, after: F64) -> npt.NDArray[np.bool_]:
    """`_accept_refined` for stacks of quads (N, 4, 2)."""
    edge = after[:, _NEXT] - after
    following = edge[:, _NEXT]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area_before = np.maximum(_areas(before), 1e-9)
    moved = np.hypot(*(after - before).transpose(2, 0, 1)).max(axis=1)
    ratio = _areas(after) / area_before
    return np.asarray(convex & (moved < 0.25 * np.sqrt(area_before)) & (ratio > 0.7)
                      & (ratio < 1.4), np.bool_)


def _accept_refined(before: F64, after: F64) -> bool:
    if not is_convex(after):
        return False
    scale = float(np.sqrt(abs(signed_area(before))))
    moved = float(np.linalg.norm(after - before, axis=1).max())
    area_ratio = abs(signed_area(after)) / max(abs(signed_area(before)), 1e-9)
    return moved < 0.25 * scale and 0.7 < area_ratio < 1.4


def find_document(image_bgr: npt.NDArray[np.uint8]) -> Detection | None:
    """Like `detect_document` but also returns the score and the support of each side.

    The score is the share of the sides' length where a straight edge runs right along the
    final quad (a side outside the frame counts half)."""
    image = _as_bgr(image_bgr)
    work = _prepare(image)
    found = _best_candidate(image, work)
    if found is None:
        return None
    quad = (found.quad.astype(np.float64) + 0.5) * work.factor - 0.5
    refined, _ = _refine(image, quad, 3.0, 1.0)
    if _accept_refined(quad, refined):
        quad = refined
    small = ((quad + 0.5) / work.factor - 0.5)[None]
    _, _, support = _scores(work, small, _TIGHT_BAND)
    seen = ~np.isnan(support[0])
    score = float(np.where(seen, support[0], 0.5).mean())
    if score < _MIN_FINAL_SCORE or not _straight_sides(image, quad):
        return None
    return Detection(order_corners(quad), score,
                     tuple(float(v) for v in np.nan_to_num(support[0], nan=-1.0)))


def _straight_sides(image: npt.NDArray[np.uint8], quad: F64) -> bool:
    """Final check at full resolution: the outline must run along straight lines. Curved
    things (heads, mugs, hands) can be boxed by a quad whose sides touch edges here and there,
    but their edge points do not line up within a pixel."""
    pts, strength = _edge_points(image, quad[None], 3.0)
    seen = strength > 0
    # Above camera noise: a flat stretch offers noise peaks that line up by chance.
    usable = seen & (strength >= _STRAIGHT_STRENGTH)
    # Real cards bend a little and webcam lenses bow long lines: allow ~0.3 % of the side.
    length = np.hypot(*(quad[_NEXT] - quad).T)
    tolerance = np.maximum(1.2, 0.003 * length)[:, None, None]
    _, share, inlier = _robust_lines(pts, usable, tolerance)
    # A side along or beyond the frame border is not seen, whatever lies next to it.
    h, w = image.shape[:2]
    t = np.linspace(0.05, 0.95, pts.shape[1])
    on_side = quad[:, None, :] + t[None, :, None] * (quad[_NEXT] - quad)[:, None, :]
    in_frame = ((on_side[..., 0] > 4) & (on_side[..., 0] < w - 5) & (on_side[..., 1] > 4)
                & (on_side[..., 1] < h - 5))
    visible = (seen & in_frame).mean(axis=1) >= 0.3
    # A straight side is seen along much of its length (fingers may hide part of it), not only
    # where a quad boxing a round thing (a mug, a head) touches it: inliers near both ends.
    third = inlier.shape[1] // 3
    spans = inlier[:, :third].any(axis=1) & inlier[:, -third:].any(axis=1)
    straight = visible & (share >= _MIN_STRAIGHT_SHARE) & spans
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
