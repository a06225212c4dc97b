"""Find the most prominent document (card, page, bank book) in a camera frame.

The search runs on a copy shrunk to 320 px on the long side (1280x720 -> 320x180, 720x1280 ->
180x320, 4032x3024 -> 320x240), where its pixel thresholds were set; frames up to 400 px are
searched as they are.

1. Straight edges: Canny on the stronger of the grey and saturation gradients; edge pixels are
   grouped by gradient direction (overlapping 45 degree bins) into connected runs, and a run
   that is long and thin is a segment. Segments on one line are merged (their pixel moments
   summed, so the line is fitted to all of them). Texture gives short runs of mixed direction,
   which never line up into long lines as Hough voting does on a busy desk. The longest lines
   are kept, at most a few per direction (ruled paper must not crowd out a card's sides), and
   with them a few short ones that close a corner at both ends (a small card's short sides in
   a room full of long lines). In a dark frame shorter runs count, as noise splits its sides.
2. Edge profiles: along each line, stations 2 px apart record whether an edge of each polarity
   (grey and saturation) crosses the line there, as cumulative counts, so the support of any
   stretch of the line is two look-ups.
3. Quads from two pairs of roughly parallel lines (the frame border counts as a line, for a
   document reaching out of the frame). Each side must be supported along most of its length
   (fingers may hide some); the value of a quad is its support, minus its distance from a
   document's aspect after undoing perspective, plus a little for size, minus a penalty where
   a side is crossed by its neighbours' edges running on past the corners (the line under a
   card's coloured band, not its outline: a card's sides end at its corners). The full penalty
   needs the band's outer edge: a supported line just outside the side up to which both
   neighbours run, or neighbours running on far; crossings by chance (fingers, the room)
   count a little. Quads valued very low are not tried.
4. Quads lying inside a larger well-supported document-shaped quad are dropped when they are
   well inside it (photo, code, panel) or crossed (the field below a band).
5. Of the best few, a quad that is another one with its shadow (the strip between them is the
   ground around it darkened, same chromaticity) is tried after that one; if none passes, two
   more in order of value. They are snapped to the edges of the full-resolution frame (robust
   line through the outermost edge points along each side) and the first that still runs along
   straight edges with enough support (not along two tangents to a curved outline, as a quad
   boxing a head does), shows a step across each side (not a thin line) and, wholly in view, a
   document's aspect, is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, order_corners
from .kinds import A4_PAGE, BANK_BOOK_PAGE, ID1_CARD

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

_NEXT: Final = np.array([1, 2, 3, 0])
_PREV: Final = np.array([3, 0, 1, 2])

_WORK_LONG_SIDE: Final = 320
_MAX_WORK_LONG_SIDE: Final = 400
_MIN_AREA_FRAC: Final = 0.02
_MAX_AREA_FRAC: Final = 0.97
_MIN_CORNER_DEG: Final = 55.0
_MAX_ASPECT: Final = 2.6
# Long/short sides of the documents asked for: ID-1 cards, A4 pages, bank-book pages.
_DOCUMENT_ASPECTS: Final = np.array([ID1_CARD.aspect, A4_PAGE.aspect, BANK_BOOK_PAGE.aspect])
_EDGE_STRENGTH: Final = 40.0
_EDGE_FLOOR: Final = 16.0
# Mean grey (0-255) of the shrunk frame below which it counts as dark (a dim room).
_DARK_MEAN: Final = 70.0
# Focal length over the frame's long side: ~0.75-0.9 for webcams and phones (60-75 degrees
# across); the aspect estimate is not sensitive to it at moderate tilt.
_FOCAL_PER_LONG_SIDE: Final = 0.9
_REFINE_SAMPLES: Final = 32
_PAIR_INDEX: Final = np.array(list(combinations(np.linspace(0, _REFINE_SAMPLES - 1, 12).astype(int),
                                               2)))
_MIN_STRAIGHT_SHARE: Final = 0.4
_STRAIGHT_STRENGTH: Final = 6.0
# `_edge_share`: its search window (+- px, full resolution) and the least share of a side
# that is not a tangent to a curve; a side with this share of its stations on its line and
# peaking well inside the narrow window of `_straight_sides` needs no wider search.
_EDGE_REACH: Final = 5.0
_MIN_EDGE_SHARE: Final = 0.32
_SURE_SHARE: Final = 0.6


@dataclass(frozen=True)
class Detection:
    """A detected document with the evidence behind it (for guidance and debugging)."""

    quad: Quad
    score: float
    side_support: tuple[float, ...]


@dataclass
class _Work:
    """The shrunk frame, its gradients and edges, shared by the stages."""

    gray: npt.NDArray[np.uint8]
    sat: npt.NDArray[np.uint8]
    gradients: tuple[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], ...]
    factor: float
    # Per channel, the gradient across a side that counts as an edge.
    strengths: tuple[float, ...]
    # Flat indices of the edge pixels, in raster order, and the direction of the gradient at
    # each in 16 steps over 180 degrees (polarity dropped).
    at: npt.NDArray[np.intp]
    steps: npt.NDArray[np.uint8]
    # The shrunk frame in colour.
    bgr: npt.NDArray[np.uint8]
    # A dark frame (mean grey below `_DARK_MEAN`): its edges are faint and noisy.
    dark: bool


def _prepare(image: npt.NDArray[np.uint8]) -> _Work:
    small, factor = _shrink(image)
    gray = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
    hsv = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), np.uint8)
    sat = np.ascontiguousarray(hsv[:, :, 1])
    # In a dark frame every contrast shrinks with the light: the grey edge threshold follows
    # the frame's strongest gradients down to a floor above sensor noise. Saturation is a ratio
    # and does not shrink (it only gets noisier), so its threshold stays.
    gx = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), np.float32)
    gy = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3), np.float32)
    mag = np.abs(gx)
    mag += np.abs(gy)
    sub = mag[::2, ::2].ravel()
    k98, k90 = int(0.98 * (sub.size - 1)), int(0.90 * (sub.size - 1))
    part = np.partition(sub, (k90, k98))
    grey = float(np.clip(0.2 * part[k98], _EDGE_FLOOR, _EDGE_STRENGTH))
    # Grey and saturation are judged separately (their polarities differ across one edge), so
    # a blue card on a brown desk of the same brightness still has edges. The saturation
    # gradients are scaled so that its threshold (_EDGE_STRENGTH) lands on grey's: both
    # channels then share one threshold and one edge map.
    scale = grey / _EDGE_STRENGTH
    sx = np.asarray(cv2.Sobel(sat, cv2.CV_32F, 1, 0, ksize=3, scale=scale), np.float32)
    sy = np.asarray(cv2.Sobel(sat, cv2.CV_32F, 0, 1, ksize=3, scale=scale), np.float32)
    smag = np.abs(sx)
    smag += np.abs(sy)
    gradients = ((gx, gy), (sx, sy))
    # One edge map from both channels: per pixel the channel with the stronger edge.
    use_sat = cv2.compare(smag, mag, cv2.CMP_GT)
    dx, dy = gx.copy(), gy.copy()
    cv2.copyTo(sx, use_sat, dx)
    cv2.copyTo(sy, use_sat, dy)
    high = float(np.clip(part[k90], 2.5 * grey, 10 * grey))
    # |Sobel| <= 4 * 255 on uint8 channels, so the gradients fit int16 as they are.
    edges = cv2.Canny(dx.astype(np.int16), dy.astype(np.int16), 0.5 * high, high)
    # Direction of the gradient at each edge pixel in 16 steps of 11.25 degrees (polarity
    # dropped); only the (few) edge pixels are computed.
    found = cv2.findNonZero(edges)
    xy = np.zeros((0, 2), np.intp) if found is None else found.reshape(-1, 2).astype(np.intp)
    at = xy[:, 1] * edges.shape[1] + xy[:, 0]
    if len(at):
        angle = np.asarray(cv2.phase(dx.ravel().take(at), dy.ravel().take(at)), np.float32)
        steps = (angle.ravel() * np.float32(16 / np.pi)).astype(np.uint8) % 16
    else:
        steps = np.zeros(0, np.uint8)
    dark = cv2.mean(gray)[0] < _DARK_MEAN
    return _Work(gray, sat, gradients, factor, (grey, grey), at, steps, small, dark)


# --------------------------------------------------------------------------- lines


_MAX_LINES: Final = 24
_DIRECTION_BINS: Final = 8
_MAX_PER_DIRECTION: Final = 8


_ORIENTATION_BINS: Final = 8


def _segment_lines(work: _Work) -> F64:
    """Straight edges as lines (a, b, c), a^2 + b^2 = 1, the longest first.

    Edge pixels are grouped by gradient orientation (8 bins, and again with the bins shifted
    by half a bin) into connected runs; a run that is long and thin is a straight segment
    (line through its centroid along its principal axis). Texture makes short runs of mixed
    orientation, so unlike Hough voting it does not line up into false long lines."""
    h, w = work.gray.shape
    flat = work.at
    if len(flat) < 10:
        return np.zeros((0, 3))
    ys, xs = np.divmod(flat, w)
    fx, fy = xs.astype(np.float64), ys.astype(np.float64)
    segs: list[F64] = []
    # In a dark frame, sensor noise scatters the gradient direction along a faint side and
    # splits it into shorter runs; they still line up and are merged into one line below.
    min_len = (max(6.0, 0.02 * max(h, w)) if work.dark else max(8.0, 0.03 * max(h, w)))
    # 8 overlapping bins of 45 degrees, 22.5 degrees apart: an edge wavering a little about
    # its direction stays whole in one of them.
    # Each binning splits the 16 directions into 4 bins; the 8 bins are laid side by side in
    # one image (a blank column between them), so one labelling finds the runs of all of them.
    steps = work.steps.astype(np.intp)
    tile = w + 1
    stride = _ORIENTATION_BINS * tile
    base = ys * stride + xs
    pos = np.stack([base + (2 * (((steps + 1) % 16) // 4)) * tile,
                    base + (2 * (((steps - 1) % 16) // 4) + 1) * tile])
    tiles = np.zeros((h, stride), np.uint8)
    tiles.ravel()[pos.ravel()] = 1
    # 16-bit labels (half the memory to write) whenever the runs cannot outnumber them.
    ltype = cv2.CV_16U if pos.size < 65_000 else cv2.CV_32S
    offset, lab = cv2.connectedComponents(tiles, connectivity=8, ltype=ltype)
    labels = lab.ravel().take(pos)
    for row in range(2):
        lab_row = labels[row]
        count = np.bincount(lab_row, minlength=offset).astype(np.float64)
        count[0] = 0
        big = np.flatnonzero(count >= min_len)
        if len(big) == 0:
            continue
        sx = np.bincount(lab_row, fx, offset)[big]
        sy = np.bincount(lab_row, fy, offset)[big]
        sxx = np.bincount(lab_row, fx * fx, offset)[big]
        syy = np.bincount(lab_row, fy * fy, offset)[big]
        sxy = np.bincount(lab_row, fx * fy, offset)[big]
        m = count[big]
        cx, cy = sx / m, sy / m
        vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
        half = np.sqrt(np.maximum((vxx - vyy) ** 2 / 4 + vxy * vxy, 0.0))
        major = (vxx + vyy) / 2 + half
        minor = np.maximum((vxx + vyy) / 2 - half, 0.0)
        phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)  # direction of the principal axis
        length = np.sqrt(12.0 * major)
        straight = (length >= min_len) & (np.sqrt(minor) <= 1.5 + 0.02 * length)
        if straight.any():
            segs.append(np.stack([cx, cy, np.cos(phi), np.sin(phi), length, m, sx, sy, sxx, syy,
                                  sxy], axis=1)[straight])
    if not segs:
        return np.zeros((0, 3))
    seg = np.concatenate(segs)
    seg = seg[np.argsort(-seg[:, 4], kind="stable")][:150]
    cx, cy, dx, dy, length = seg[:, :5].T
    nx, ny = dy, -dx
    c = -(nx * cx + ny * cy)
    ends = np.stack([np.stack([cx - dx * length / 2, cy - dy * length / 2], axis=1),
                     np.stack([cx + dx * length / 2, cy + dy * length / 2], axis=1)])  # (2, N, 2)
    cos = np.abs(nx[:, None] * nx[None, :] + ny[:, None] * ny[None, :])
    # Row i: the segments lying on the line of segment i (both ends within 2 px of it).
    dist = np.maximum(
        np.abs(nx[:, None] * ends[0, None, :, 0] + ny[:, None] * ends[0, None, :, 1] + c[:, None]),
        np.abs(nx[:, None] * ends[1, None, :, 0] + ny[:, None] * ends[1, None, :, 1] + c[:, None]))
    same = (cos > np.cos(np.radians(5.0))) & (dist < 2.0)
    # Greedy grouping, longest first: a segment still free leads a group of the free segments
    # on its line. Each row as a bit set (an int) keeps the loop cheap; a segment then belongs
    # to the first lead whose line it lies on.
    rows = np.packbits(same, axis=1, bitorder="little")
    free = (1 << len(seg)) - 1
    leads: list[int] = []
    for i in range(len(seg)):
        if free >> i & 1:
            leads.append(i)
            free &= ~int.from_bytes(rows[i].tobytes(), "little")
    group = np.argmax(same[leads], axis=0)  # the group of each segment
    weights = np.bincount(group, length, len(leads)).astype(np.float64)
    order = np.argsort(-weights, kind="stable")
    # The longest lines, but not too many of one direction: ruled paper, blinds or a keyboard
    # give many long parallel lines that would crowd out a document's other pair of sides.
    lead = np.array(leads)[order]
    direction = (np.arctan2(dy[lead], dx[lead]) % np.pi) // (np.pi / _DIRECTION_BINS)
    same_bin = direction[:, None] == np.arange(_DIRECTION_BINS)[None, :]
    rank = (np.cumsum(same_bin, axis=0) * same_bin).sum(axis=1) - 1
    order = order[rank < _MAX_PER_DIRECTION][:_MAX_LINES]
    extra = _cornered(np.array(leads), group, ends, dx, dy, weights, order)
    order = np.concatenate([order, extra]).astype(np.intp)
    # One line through all pixels of a group: its moments are the sums of its members'.
    # (The two orientation binnings count a pixel twice; that does not move the fit.)
    sums = np.stack([np.bincount(group, seg[:, k], len(leads)) for k in range(5, 11)],
                    axis=1)[order].T.astype(np.float64)
    m, sx, sy, sxx, syy, sxy = sums
    cx, cy = sx / m, sy / m
    vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
    phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
    nx, ny = np.sin(phi), -np.cos(phi)
    return np.stack([nx, ny, -(nx * cx + ny * cy)], axis=1)


_EXTRA_LINES: Final = 8
# Two lines meet at a corner when they cross at 50 degrees or more.
_CORNER_SIN: Final = float(np.sin(np.radians(50.0)))


def _cornered(lead: npt.NDArray[np.intp], group: npt.NDArray[np.intp], ends: F64, dx: F64,
              dy: F64, weights: F64, chosen: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Groups of segments (not in `chosen`) whose line meets other lines at both of its ends:
    a small card's short sides, outweighed by long lines of the room, but closing a corner at
    each end. The longest `_EXTRA_LINES` of them."""
    n = len(lead)
    if n < 3:
        return np.zeros(0, np.intp)
    ux, uy = dx[lead], dy[lead]
    # The stretch of each group along its lead's direction.
    t = ends[..., 0] * ux[group] + ends[..., 1] * uy[group]  # (2, N segments)
    member = group[None, :] == np.arange(n)[:, None]  # (G, N segments)
    lo = np.where(member, t.min(axis=0)[None, :], np.inf).min(axis=1)
    hi = np.where(member, t.max(axis=0)[None, :], -np.inf).max(axis=1)
    # A point on each lead's line and the group's two ends on it.
    cx = (ends[0, lead, 0] + ends[1, lead, 0]) / 2
    cy = (ends[0, lead, 1] + ends[1, lead, 1]) / 2
    tc = cx * ux + cy * uy
    end_pts = np.stack([np.stack([cx + (lo - tc) * ux, cy + (lo - tc) * uy], axis=1),
                        np.stack([cx + (hi - tc) * ux, cy + (hi - tc) * uy], axis=1)])  # (2, G, 2)
    # Where every two lines meet (steep enough to be a document's corner).
    cross = ux[:, None] * uy[None, :] - uy[:, None] * ux[None, :]
    steep = np.abs(cross) > _CORNER_SIN
    safe = np.where(steep, cross, 1.0)
    # p_i + s u_i = p_j + r u_j  ->  s = ((p_j - p_i) x u_j) / (u_i x u_j)
    ddx, ddy = cx[None, :] - cx[:, None], cy[None, :] - cy[:, None]
    s = (ddx * uy[None, :] - ddy * ux[None, :]) / safe
    mx, my = cx[:, None] + s * ux[:, None], cy[:, None] + s * uy[:, None]  # (G, G)
    tol = 2.5 + 0.12 * (hi - lo)
    # Distance from where lines i and j meet to either end of group i: (2, G, G).
    near = np.hypot(mx[None] - end_pts[:, :, None, 0], my[None] - end_pts[:, :, None, 1])
    at_end = near.min(axis=0) < tol[:, None]
    # A corner: the lines meet at an end of both groups.
    corner = steep & at_end & at_end.T
    # Which end of i each corner is at: both ends must close one.
    which = near[0] <= near[1]
    both = (corner & which).any(axis=1) & (corner & ~which).any(axis=1)
    both[chosen] = False
    extra = np.flatnonzero(both)
    return extra[np.argsort(-weights[extra], kind="stable")][:_EXTRA_LINES]


_STEP: Final = 2.0


@dataclass
class _Profiles:
    """Edge evidence along each line, as cumulative counts over stations `_STEP` px apart."""

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
        lines = self.lines
        p, q = lines[:, None, :], lines[None, :, :]
        x = p[..., 1] * q[..., 2] - p[..., 2] * q[..., 1]
        y = p[..., 2] * q[..., 0] - p[..., 0] * q[..., 2]
        z = p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]
        self.meets = np.abs(z) > 1e-9
        zs = np.where(self.meets, z, 1.0)
        self.meet = np.stack([x / zs, y / zs], axis=2)
        along = ((self.meet - self.origin[:, None, :]) * self.direction[:, None, :]).sum(axis=2)
        self.station = (along + self.reach) / _STEP


def _profiles(work: _Work, lines: F64, n_real: int) -> _Profiles:
    """Profiles of `lines`; those from `n_real` on lie on the frame border and see nothing."""
    h, w = work.gray.shape
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    n = lines[:, :2]
    dist = n[:, 0] * centre[0] + n[:, 1] * centre[1] + lines[:, 2]
    origin = centre[None, :] - dist[:, None] * n
    direction = np.stack([-n[:, 1], n[:, 0]], axis=1)
    reach = float(np.ceil(np.hypot(w, h) / 2 / _STEP) * _STEP)
    t = np.arange(-reach, reach + 0.5, _STEP)
    offs = np.array([-1.0, 0.0, 1.0])[:, None, None]
    real = slice(0, n_real)
    # Stations (3 offsets across the line, L, T) as flat pixel indices; those outside the
    # frame are clipped to some pixel, whose value `inside` then discards.
    px = origin[real, 0, None] + t[None, :] * direction[real, 0, None]
    py = origin[real, 1, None] + t[None, :] * direction[real, 1, None]
    xi = np.rint(px[None] + offs * n[None, real, 0, None]).astype(np.intp)
    yi = np.rint(py[None] + offs * n[None, real, 1, None]).astype(np.intp)
    inside = (xi >= 1) & (xi < w - 1) & (yi >= 1) & (yi < h - 1)
    flat = yi * w + xi
    nx = n[real, 0, None].astype(np.float32)
    ny = n[real, 1, None].astype(np.float32)
    maps = []
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx = gxc.ravel().take(flat, mode="clip")
        gy = gyc.ravel().take(flat, mode="clip")
        proj = (gx * nx + gy * ny) * inside
        # Only strong gradients across the line count; texture running along it does not.
        least = np.maximum(np.float32(0.6) * (np.abs(gx) + np.abs(gy)), np.float32(strength))
        for hit in (proj > least, proj < -least):
            maps.append(hit[0] | hit[1] | hit[2])
    n_lines, n_t = len(lines), len(t)
    # Counts as int32: half the bytes of float64 for the many look-ups into them.
    hits = np.zeros((len(maps), n_lines, n_t + 1), np.int32)
    np.cumsum(np.stack(maps), axis=2, dtype=np.int32, out=hits[:, real, 1:])
    valid = np.zeros((n_lines, n_t + 1), np.int32)
    np.cumsum(inside[1], axis=1, dtype=np.int32, out=valid[real, 1:])
    return _Profiles(lines, origin, direction, reach, hits, valid)


def _line_angles(lines: F64) -> F64:
    return np.asarray(np.arctan2(lines[:, 1], lines[:, 0]) % np.pi, np.float64)


def _parallel_pairs(lines: F64, h: int, w: int) -> npt.NDArray[np.intp]:
    """Pairs of lines (P, 2) that may be opposite sides of a document."""
    n = len(lines)
    angle = _line_angles(lines)
    diff = np.abs(angle[:, None] - angle[None, :])
    diff = np.minimum(diff, np.pi - diff)
    ii, jj = np.triu_indices(n, 1)
    # Opposite sides of a document in perspective: within 35 degrees, some pixels apart.
    centre = np.array([w / 2.0, h / 2.0])
    offset = lines[:, 0] * centre[0] + lines[:, 1] * centre[1] + lines[:, 2]
    sep = np.abs(offset[ii]
                 - np.sign((lines[ii, :2] * lines[jj, :2]).sum(axis=1))
                 * offset[jj])
    parallel = (diff[ii, jj] < np.radians(35.0)) & (sep > 0.08 * min(h, w))
    return np.stack([ii[parallel], jj[parallel]], axis=1)


def _pairs_of_pairs(lines: F64, pairs: npt.NDArray[np.intp], table: F64,
                    border: Mask) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Quads bounded by two of the `pairs` of roughly parallel lines with at least three sides
    well supported (`table`: the support of each line between each pair, (L, P)), or with one
    frame `border` line in each pair and both other sides supported (a document over a corner
    of the frame): the line indices around them (Q, 4) and the pair that bounds each side
    (Q, 4)."""
    good = np.nan_to_num(table, nan=0.0) >= _MIN_SIDE_SUPPORT
    # [a, b]: how many of pair a's lines are supported between pair b's.
    held = good[pairs[:, 0]].astype(np.int8) + good[pairs[:, 1]]
    enough = held + held.T >= 3
    on_border = np.asarray(border[pairs].any(axis=1), np.bool_)
    if on_border.any():
        # The border line counts as held there.
        held_b = held + on_border[:, None].astype(np.int8)
        enough |= (held_b + held_b.T == 4) & on_border[:, None] & on_border[None, :]
    a, b = np.nonzero(np.triu(enough, 1))
    l1, l2, l3, l4 = pairs[a, 0], pairs[a, 1], pairs[b, 0], pairs[b, 1]
    angle = _line_angles(lines)
    cross = np.abs(angle[l1] - angle[l3])
    cross = np.minimum(cross, np.pi - cross)
    distinct = (l1 != l3) & (l1 != l4) & (l2 != l3) & (l2 != l4) & (cross > np.radians(40.0))
    a, b = a[distinct], b[distinct]
    # Around the quad: first of pair one, first of pair two, second of pair one, second of two;
    # the sides on pair one's lines end on pair two's and the other way round.
    around = np.stack([l1[distinct], l3[distinct], l2[distinct], l4[distinct]], axis=1)
    return around, np.stack([b, a, b, a], axis=1)


def _corners(prof: _Profiles, around: npt.NDArray[np.intp]) -> F64:
    """Corner k of each quad where side k-1 meets side k (side k lies on line around[:, k])."""
    return np.asarray(prof.meet[around[:, _PREV], around], np.float64)


_END_TRIM: Final = 0.08
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


def _span_support(prof: _Profiles, line: npt.NDArray[np.intp], start: F64, end: F64) -> F64:
    """Support of the stretches of `line` from station `start` to `end` (broadcast together),
    less `_END_TRIM` at each end: the largest share of stations where an edge of one map and
    polarity crosses, NaN for a stretch mostly outside the frame."""
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    trim = _END_TRIM * (hi - lo)
    stride = prof.valid.shape[1]
    last = stride - 1
    base = line * stride
    ia = base + np.clip(np.rint(lo + trim), 0, last).astype(np.intp)
    ib = base + np.clip(np.rint(hi - trim), 0, last).astype(np.intp)
    flat_hits = prof.hits.reshape(len(prof.hits), -1)
    flat_valid = prof.valid.ravel()
    hits = flat_hits.take(ib, axis=1) - flat_hits.take(ia, axis=1)  # (M, ...)
    valid = flat_valid.take(ib) - flat_valid.take(ia)
    support = np.max(hits, axis=0) / np.maximum(valid, 1.0)
    return np.asarray(np.where(valid >= 0.3 * np.maximum(ib - ia, 1), support, np.nan),
                      np.float64)


def _side_ends(prof: _Profiles, around: npt.NDArray[np.intp]) -> tuple[F64, F64]:
    """Stations of the start and the end of each side of each quad (Q, 4) along its line."""
    return (np.asarray(prof.station[around, around[:, _PREV]], np.float64),
            np.asarray(prof.station[around, around[:, _NEXT]], np.float64))


def _beyond(prof: _Profiles, around: npt.NDArray[np.intp], first: F64, second: F64) -> F64:
    """Edge support past each end of each side (Q, 4, 2: past its start, past its end) over 15 %
    of the side (at least 4 px), from 2 px beyond the corner; any polarity, as a card side runs
    on past a dark band as well as past a pale field."""
    stride = prof.valid.shape[1]
    last = stride - 1
    base = around * stride
    span = np.abs(second - first)
    sign = np.where(second >= first, 1.0, -1.0)
    ext = np.maximum(4.0 / _STEP, 0.15 * span)
    gap = 2.0 / _STEP
    flat_hits = prof.hits.reshape(len(prof.hits), -1)
    flat_valid = prof.valid.ravel()
    out = []
    for anchor, way in ((first, -sign), (second, sign)):
        p = anchor + way * gap
        q = anchor + way * (gap + ext)
        a = base + np.clip(np.rint(np.minimum(p, q)), 0, last).astype(np.intp)
        b = base + np.clip(np.rint(np.maximum(p, q)), 0, last).astype(np.intp)
        got = np.max(flat_hits.take(b, axis=1) - flat_hits.take(a, axis=1), axis=0)
        seen = flat_valid.take(b) - flat_valid.take(a)
        out.append(np.where(seen >= 0.5 * np.maximum(b - a, 1), got / np.maximum(seen, 1), 0.0))
    return np.stack(out, axis=2)


def _plausible_many(quads: F64, area_frame: float, area: F64 | None = None) -> Mask:
    """Convex, of document size, no corner sharper than 55 deg, aspect not beyond any document
    seen in perspective; for quads (N, 4, 2) in either winding (`area`: theirs, if known)."""
    edge = quads[:, _NEXT] - quads
    following = edge[:, _NEXT]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area = _areas(quads) if area is None else area
    sized = (area >= _MIN_AREA_FRAC * area_frame) & (area <= _MAX_AREA_FRAC * area_frame)
    length = np.hypot(edge[..., 0], edge[..., 1]) + 1e-9
    cos = -(edge * edge[:, _PREV]).sum(axis=2) / (length * length[:, _PREV])
    limit = np.cos(np.radians(_MIN_CORNER_DEG))
    angled = np.all(np.abs(cos) <= limit, axis=1)
    across = (length[:, 0] + length[:, 2]) / 2
    down = (length[:, 1] + length[:, 3]) / 2
    aspect = np.maximum(across, down) / np.maximum(np.minimum(across, down), 1e-6)
    return np.asarray(convex & sized & angled & (aspect <= _MAX_ASPECT), np.bool_)


_ASPECT_SLACK: Final = 0.05
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


def _supported(support: F64, on_border: Mask) -> Mask:
    """Quads with at least three sides seen, each of those well supported, and on average; or
    with two neighbouring sides on the frame border and both others strongly supported (a
    document over a corner of the frame). `on_border` (Q, 4): sides on the frame border."""
    seen = ~np.isnan(support)
    n_seen = seen.sum(axis=1)
    filled = np.where(seen, support, 0.0)
    good = (filled >= _MIN_SIDE_SUPPORT).sum(axis=1)
    confidence = filled.sum(axis=1) / np.maximum(n_seen, 1)
    # Two sides seen (a card over a corner of the frame): both strongly.
    corner = ((n_seen == 2) & ((filled >= _CORNER_SIDE).sum(axis=1) == 2)
              & (on_border & on_border[:, _NEXT]).any(axis=1))
    return np.asarray(((n_seen >= 3) & (good >= 3) & (confidence >= _MIN_SCORE)) | corner,
                      np.bool_)


_CORNER_SIDE: Final = 0.85


def _border_ok(on_border: Mask) -> Mask:
    """Quads (Q, 4: which sides lie on the frame border) with at most one side on the border,
    or two neighbouring ones (a document over a corner of the frame)."""
    n = on_border.sum(axis=1)
    return np.asarray((n <= 1) | ((n == 2) & (on_border & on_border[:, _NEXT]).any(axis=1)),
                      np.bool_)


def _values(quads: F64, ev: _Evidence, width: float, height: float, clipped: Mask,
            area: F64) -> tuple[F64, F64]:
    """Selection value of each quad and its distance from a document's aspect (0 for quads
    `clipped` by the frame border, whose aspect says nothing)."""
    support = ev.support
    seen = ~np.isnan(support)
    evidence = np.where(seen, support, _UNSEEN_SIDE).mean(axis=1)
    ordered = _order_many(quads)
    errors = np.where(clipped, 0.0, _aspect_errors(ordered, width, height))
    aspect = np.maximum(errors - _ASPECT_SLACK, 0.0)
    size = np.log(np.maximum(area, 1e-9) / (width * height))
    # A document's sides end at its corners. Where both neighbours of a side run on past it,
    # that side is a line across the document (a printed band, a panel), not its outline.
    inner = _banded(ev.beyond, ev.band).max(axis=1)
    value = (evidence - _ASPECT_WEIGHT * aspect + _AREA_WEIGHT * size
             - _INNER_WEIGHT * np.maximum(inner - 0.3, 0.0) - _CLIPPED_PENALTY * clipped)
    return np.asarray(value, np.float64), errors


# --------------------------------------------------------------------------- search


_SHORTLIST: Final = 3
# Further distinct quads tried, in order of value, when none of the shortlist passes.
_FALLBACK: Final = 2
_TIGHT_BAND: Final = (-1.0, 0.0, 1.0)
_MIN_FINAL_SCORE: Final = 0.6
_MIN_FINAL_SCORE_3: Final = 0.8


@dataclass
class _Candidates:
    quads: F64  # (N, 4, 2) in the shrunk frame, ordered TL, TR, BR, BL
    value: F64
    inner: F64


@dataclass
class _Scored:
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

    def take(self, idx: npt.NDArray[np.intp]) -> _Scored:
        return _Scored(self.around[idx], self.corners[idx], self.support[idx], self.first[idx],
                       self.second[idx], self.beyond[idx], self.band[idx], self.value[idx],
                       self.errors[idx], self.clipped[idx])


def _score(prof: _Profiles, around: npt.NDArray[np.intp], border: Mask, h: int, w: int,
           support: F64 | None = None) -> _Scored | None:
    """Corners, evidence and value of the supported, plausible quads among `around`, whose
    sides' `support` (Q, 4) may be given."""
    if support is None:
        support = _span_support(prof, around, *_side_ends(prof, around))
    # Cheap tests first: the edge evidence, corners inside a generous frame, of document size.
    near = prof.meets & (np.abs(prof.meet - np.array([w / 2, h / 2])).max(axis=2)
                         <= 1.5 * max(w, h))
    fine = _supported(support, border[around])
    fine[fine] = (near[around[fine][:, _PREV], around[fine]].all(axis=1)
                  & _border_ok(border[around[fine]]))
    around, support = around[fine], support[fine]
    corners = _corners(prof, around)
    area = _areas(corners)
    fine = (area >= _MIN_AREA_FRAC * h * w) & (area <= _MAX_AREA_FRAC * h * w)
    fine[fine] = _plausible_many(corners[fine], h * w, area[fine])
    if not fine.any():
        return None
    around, corners, support, area = around[fine], corners[fine], support[fine], area[fine]
    ts, te = _side_ends(prof, around)
    # Sides run with their line's direction or against it.
    first, second = ts, te
    beyond = _beyond(prof, around, first, second)
    clipped = np.asarray(border[around].any(axis=1), np.bool_)
    band = _band_lines(prof, around, beyond)
    value, errors = _values(corners, _Evidence(support, beyond, band), w, h, clipped, area)
    return _Scored(around, corners, support, first, second, beyond, band, value, errors,
                   clipped)


def _band_lines(prof: _Profiles, around: npt.NDArray[np.intp], beyond: F64) -> F64:
    """Per quad and side (Q, 4), for the sides both of whose neighbours run on past it, the
    support of the best line just outside the side that both neighbours meet within
    `_BAND_REACH` of their length past it, between them: the card's outline beyond a printed
    band (1 for a line mostly outside the frame, which may be it). 1 where the neighbours'
    edges run on well past the band's reach (the side crosses something larger) and for the
    sides not crossed (not looked at)."""
    band = np.ones(around.shape)
    q, j = np.nonzero(_crossed(beyond) > _BAND_FLOOR)
    if len(q) == 0:
        return band
    # The answer depends on the side's line and its neighbours' and opposite's only: each
    # such set once.
    n_lines = len(prof.lines)
    code = around[q, j]
    for k in (_PREV[j], _NEXT[j], (j + 2) % 4):
        code = code * n_lines + around[q, k]
    codes, first, back = np.unique(code, return_index=True, return_inverse=True)
    qs, js = q[first], j[first]
    side, opposite = around[qs, js], around[qs, (js + 2) % 4]
    # Both neighbours at once: (2, K).
    pair = np.stack([around[qs, _PREV[js]], around[qs, _NEXT[js]]])
    at_side = prof.station[pair, side]
    span = at_side - prof.station[pair, opposite]
    # Edges running on past the band's reach: the side crosses something larger.
    onward = _span_support(prof, pair, at_side, at_side + _BAND_REACH * span)
    far = np.asarray((np.nan_to_num(onward, nan=0.0) >= _BAND_RUN).all(axis=0), np.bool_)
    at_line = prof.station[pair]  # (2, K, L)
    past = (at_line - at_side[..., None]) / np.where(np.abs(span) > 1e-9, span, 1e-9)[..., None]
    ok = (prof.meets[pair] & (past > 0.03) & (past < _BAND_REACH)).all(axis=0)
    r, line = np.nonzero(ok & ~far[:, None])
    found = np.zeros(len(codes))
    if len(r):
        # The neighbours' edges run on up to that line (the card's sides along its band).
        run = _span_support(prof, pair[:, r], at_side[:, r], at_line[:, r, line])
        good = (np.nan_to_num(run, nan=1.0) >= _BAND_EDGE_RUN).all(axis=0)
        sup = _span_support(prof, line, prof.station[line, pair[0, r]],
                            prof.station[line, pair[1, r]])
        # A line mostly outside the frame (the frame border among them) may be the outline.
        np.maximum.at(found, r, np.where(good, np.nan_to_num(sup, nan=1.0), 0.0))
    band[q, j] = np.where(far, 1.0, found)[back.ravel()]
    return band


def _banded(beyond: F64, band: F64) -> F64:
    """`_crossed`, but only as far as a line outside the side is seen (a band's outer edge),
    or up to `_BAND_FLOOR` where none is."""
    return np.asarray(np.minimum(_crossed(beyond), np.maximum(band, _BAND_FLOOR)), np.float64)


def _crossed(beyond: F64) -> F64:
    """Per quad and side (Q, 4), how far both its neighbours' edges run on past its corners."""
    return np.asarray(np.minimum(beyond[:, _PREV, 1], beyond[:, _NEXT, 0]), np.float64)


_EXTEND: Final = 8
_EXTEND_GAP: Final = 3


def _run_end(prof: _Profiles, line: int, anchor: float, way: float, limit: float) -> float:
    """Station where the edge along `line`, followed from `anchor` in direction `way`, ends
    (gaps of up to `_EXTEND_GAP` stations are bridged), at most `limit` stations on."""
    hits = prof.hits[:, line].T
    n = len(hits) - 1
    offsets = np.arange(1, max(2, int(limit)))
    stations = np.rint(anchor + way * offsets).astype(np.intp)
    stations = stations[(stations >= 0) & (stations < n)]
    if len(stations) == 0:
        return anchor
    hit = (hits[stations + 1] - hits[stations]).max(axis=1) > 0
    run = 0
    last = 0
    for k, h in enumerate(hit):
        if h:
            last, run = k + 1, 0
        else:
            run += 1
            if run > _EXTEND_GAP:
                break
    return float(anchor + way * last)


def _extensions(prof: _Profiles, best: _Scored) -> tuple[F64, npt.NDArray[np.intp]]:
    """For quads with a crossed side, the line where their neighbours' edges end instead (the
    card outline beyond its band, however faint): new lines (K, 3) and the quads (K, 4) around
    them, the new line's index to be `len(prof.lines) + k`."""
    crossed = _crossed(best.beyond)
    new_lines: list[F64] = []
    new_around: list[npt.NDArray[np.intp]] = []
    for q, j in zip(*np.nonzero(crossed >= _NEST_CROSSED), strict=True):
        ends = []
        for side, at_end in ((int(_PREV[j]), True), (int(_NEXT[j]), False)):
            line = int(best.around[q, side])
            a, b = best.first[q, side], best.second[q, side]
            anchor, other = (b, a) if at_end else (a, b)
            way = 1.0 if anchor >= other else -1.0
            stop = _run_end(prof, line, anchor, way, 1.0 * abs(b - a))
            if abs(stop - anchor) < 2:
                break
            t = stop * _STEP - prof.reach
            ends.append(prof.origin[line] + t * prof.direction[line])
        if len(ends) < 2:
            continue
        p, r = ends
        d = r - p
        norm = float(np.hypot(d[0], d[1]))
        if norm < 1e-6:
            continue
        nx, ny = d[1] / norm, -d[0] / norm
        old = prof.lines[best.around[q, j], :2]
        if abs(nx * old[0] + ny * old[1]) < np.cos(np.radians(20.0)):
            continue
        new_lines.append(np.array([nx, ny, -(nx * p[0] + ny * p[1])]))
        quad = best.around[q].copy()
        quad[j] = len(prof.lines) + len(new_lines) - 1
        new_around.append(quad)
    if not new_lines:
        return np.zeros((0, 3)), np.zeros((0, 4), np.intp)
    return np.array(new_lines), np.array(new_around, np.intp)


def _line_candidates(work: _Work) -> _Candidates | None:
    h, w = work.gray.shape
    lines = _segment_lines(work)
    if len(lines) < 3:
        return None
    # The frame border bounds a document reaching out of the frame.
    border_lines = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, -(w - 1.0)], [0.0, 1.0, 0.0],
                             [0.0, 1.0, -(h - 1.0)]])
    n_real = len(lines)
    prof = _profiles(work, np.concatenate([lines, border_lines]), n_real)
    border = np.arange(n_real + 4) >= n_real
    pairs = _parallel_pairs(prof.lines, h, w)
    # Each side lies on one line between the two lines of a pair: the support of every line
    # between every pair is looked up once.
    every = np.arange(len(prof.lines))[:, None]
    table = _span_support(prof, every, prof.station[every, pairs[None, :, 0]],
                          prof.station[every, pairs[None, :, 1]])
    around, bounds = _pairs_of_pairs(prof.lines, pairs, table, border)
    scored = _score(prof, around, border, h, w, table[around, bounds])
    if scored is None:
        return None
    scored = scored.take(np.argsort(-scored.value)[:_POOL])
    new_lines, new_around = _extensions(prof, scored.take(np.arange(min(_EXTEND,
                                                                          len(scored.value)))))
    if len(new_lines):
        extra = _profiles(work, new_lines, len(new_lines))
        prof = _Profiles(np.concatenate([prof.lines, extra.lines]),
                         np.concatenate([prof.origin, extra.origin]),
                         np.concatenate([prof.direction, extra.direction]), prof.reach,
                         np.concatenate([prof.hits, extra.hits], axis=1),
                         np.concatenate([prof.valid, extra.valid]))
        border = np.concatenate([border, np.zeros(len(new_lines), np.bool_)])
        more = _score(prof, new_around, border, h, w)
        if more is not None:
            joined = [np.concatenate([getattr(scored, f), getattr(more, f)])
                      for f in ("around", "corners", "support", "first", "second", "beyond",
                                "band", "value", "errors", "clipped")]
            scored = _Scored(*joined)
            scored = scored.take(np.argsort(-scored.value)[:_POOL])
    quads = _order_many(scored.corners)
    inner = _banded(scored.beyond, scored.band).max(axis=1)
    sup = scored.support
    seen = ~np.isnan(sup)
    solid = (np.where(seen, sup, 1.0).min(axis=1) >= _NEST_SIDE) & (
        np.where(seen, sup, 0.0).sum(axis=1) >= _NEST_MEAN * seen.sum(axis=1))
    outer_ok = (scored.errors <= _ASPECT_SLACK + _NEST_ASPECT) & ~scored.clipped & solid
    keep = ~_nested(quads, outer_ok, inner >= _NEST_CROSSED)
    quads, value, inner = quads[keep], scored.value[keep], inner[keep]
    # The same outline is often found from neighbouring lines (a side and the print just
    # inside it): the shortlist holds different quads, as refinement makes near copies one.
    gap = np.abs(quads[:, None] - quads[None, :]).max(axis=(2, 3))
    pick: list[int] = []
    for i in range(len(quads)):
        if len(pick) == _SHORTLIST + _FALLBACK or value[i] < _MIN_VALUE:
            break
        if all(gap[i, j] > _DISTINCT for j in pick):
            pick.append(i)
    return _Candidates(quads[pick], value[pick], inner[pick])


_POOL: Final = 40
# Quads valued lower (weak sides, far from a document's aspect) are not tried.
_MIN_VALUE: Final = 0.2
# Shortlisted quads differ by more than this at some corner (px in the shrunk frame).
_DISTINCT: Final = 3.0
_NEST_ASPECT: Final = 0.06
_NEST_SIDE: Final = 0.5
_NEST_MEAN: Final = 0.75
_NEST_CROSSED: Final = 0.5
_NEST_DEPTH: Final = 2.5


def _nested(quads: F64, outer_ok: Mask, crossed: Mask) -> Mask:
    """Quads (N, 4, 2, clockwise on screen) lying inside a larger acceptable quad shaped like
    a document: a card's photo, panel or code (well inside it), or the field below its band
    (sharing sides with it, but `crossed`: its neighbours' edges run on past a side). A card
    inside the quad of card and shadow shares two sides with it and is neither."""
    # Only the acceptable quads can hold another: the pairs are (N, outers).
    outer = np.flatnonzero(outer_ok)
    if len(outer) == 0:
        return np.zeros(len(quads), np.bool_)
    depth = _depth_inside(quads, quads[outer])
    inside = depth >= -1.5
    area = _areas(quads)
    bigger = area[outer][None, :] > 1.15 * area[:, None]
    inner = inside & ((depth >= _NEST_DEPTH) | crossed[:, None])
    return np.asarray((inner & bigger).any(axis=1), np.bool_)


def _depth_inside(quads: F64, outers: F64) -> F64:
    """How deep each of `quads` (N, 4, 2) lies inside each of `outers` (B, 4, 2), both
    clockwise on screen: the least distance of its corners inside the sides' lines, (N, B);
    negative where a corner is outside."""
    edge = outers[:, _NEXT] - outers  # (B, 4, 2)
    length = np.maximum(np.hypot(edge[..., 0], edge[..., 1]), 1e-9)
    # rel[a, b, k, j]: corner k of quad a against side j of outer b; >= 0 inside.
    rel = (edge[None, :, None, :, 0] * (quads[:, None, :, None, 1] - outers[None, :, None, :, 1])
           - edge[None, :, None, :, 1] * (quads[:, None, :, None, 0]
                                          - outers[None, :, None, :, 0]))
    rel = rel / length[None, :, None, :]
    return np.asarray(rel.min(axis=(2, 3)), np.float64)


def _final_score(work: _Work, quads: F64) -> tuple[F64, F64]:
    """Tight support of quads (N, 4, 2) in the shrunk frame: score (a side outside the frame
    counts half) and per-side support."""
    support = _support(work, quads, _TIGHT_BAND, 24)
    score = np.where(np.isnan(support), 0.5, support).mean(axis=1)
    return np.asarray(score, np.float64), support


_SHADOW_AREA: Final = 0.55
_SHADOW_DARKER: Final = 0.92
_SHADOW_CHROMA: Final = 0.06
_GREY: Final = np.array([0.114, 0.587, 0.299])


def _shared_sides(outer: F64, inner: F64) -> int:
    """How many sides of `outer` (4, 2) the quad `inner` (4, 2) has on the same line."""
    n = _side_normals(inner)[1]
    # Distance of both ends of each side of `outer` from the line of each side of `inner`.
    ends = np.stack([outer, outer[_NEXT]])  # (2, 4, 2)
    dist = np.abs(ends[..., 0, None] * n[:, 0] + ends[..., 1, None] * n[:, 1]
                  - (n * inner).sum(axis=1))
    return int((dist.max(axis=0) < 1.5).any(axis=1).sum())


def _is_shadow(work: _Work, outer: F64, inner: F64) -> bool:
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
    kernel = np.ones((3, 3), np.uint8)

    def grow(m: npt.NDArray[np.uint8], times: int) -> npt.NDArray[np.uint8]:
        # A (2 times + 1)-square: `times` dilations by a 3x3 square in one pass.
        return np.asarray(cv2.dilate(m, np.ones((2 * times + 1, 2 * times + 1), np.uint8)),
                          np.uint8)

    # The masks hold 0 or 1: saturating subtraction is "and not".
    strip = np.asarray(cv2.subtract(cv2.erode(a, kernel), grow(b, 2)), np.uint8)
    if cv2.countNonZero(strip) < 8:
        return False
    ring = np.asarray(cv2.bitwise_and(cv2.subtract(grow(a, 4), grow(a, 1)), grow(strip, 5)),
                      np.uint8)
    if cv2.countNonZero(ring) < 8:
        return False
    bgr = work.bgr[y0:y1, x0:x1]
    colour_in = np.array(cv2.mean(bgr, strip)[:3]) + 1.0
    colour_out = np.array(cv2.mean(bgr, ring)[:3]) + 1.0
    # Grey as cv2.cvtColor weighs B, G, R.
    grey_in, grey_out = float((colour_in * _GREY).sum()), float((colour_out * _GREY).sum())
    # Chromaticity: each channel's share of the sum, which dimming leaves alone.
    shift = np.abs(colour_in / colour_in.sum() - colour_out / colour_out.sum()).sum()
    return grey_in < _SHADOW_DARKER * grey_out and bool(shift < _SHADOW_CHROMA)


def _shadow_order(work: _Work, found: _Candidates) -> Iterator[int]:
    """Indices of the candidates in the order to try them: the shortlist by value, but a quad
    found to be another one with its shadow goes right after it; then the fallbacks. Lazy, as
    the first candidate usually passes: the shadow test runs only for the candidates reached."""
    quads = found.quads[:_SHORTLIST]
    yield from _shortlist_order(work, quads)
    # The fallbacks, in order of value: a strong candidate's part (the field below its band)
    # must not be taken for it less a shadow.
    yield from range(len(quads), len(found.quads))


def _shortlist_order(work: _Work, quads: F64) -> Iterator[int]:
    n = len(quads)
    if n < 2:
        yield from range(n)
        return
    # Cheap tests for all pairs first: [i, j] with j of a size to be i less a shadow, and
    # inside it. (j may be crossed: a shadow's edge runs on along a card side.)
    area = _areas(quads)
    # depth[i, j]: how deep quad j lies inside quad i.
    depth = _depth_inside(quads, quads).T
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
                if maybe[i, j] and _is_shadow(work, quads[i], quads[j]):
                    maybe[i, j] = False
                    i, moved = j, True
                    break
        left.remove(i)
        yield i


_MIN_SIDE_FINAL: Final = 0.1
_MIN_SIDE_FINAL_2: Final = 0.65
_MIN_REACH: Final = 0.5
_MAX_PAST: Final = 0.3
_STEP_OFFSET: Final = 3.0
_MIN_STEP_SHARE: Final = 0.1
_MAX_FINAL_ASPECT_ERROR: Final = 0.2


def _step_shares(work: _Work, quad: F64, samples: int = 24) -> F64:
    """Per side of a quad (4, 2) in the shrunk frame, the share of stations where the grey or
    the saturation differs across the side (`_STEP_OFFSET` px inside against outside) by a
    quarter of the edge strength; NaN for a side mostly outside the frame. An outline separates
    the document from what lies around it; a thin line (a ruled line, a cable, a door frame's
    strip) has the same surface on both sides and gives no step."""
    h, w = work.gray.shape
    t = np.linspace(0.1, 0.9, samples)
    d, normal = _side_normals(quad)
    pts = quad[:, None, :] + t[None, :, None] * d[:, None, :]
    probe = pts[None] + np.array([-_STEP_OFFSET, _STEP_OFFSET])[:, None, None, None] * normal[
        None, :, None, :]
    xi, yi = np.rint(probe[..., 0]).astype(np.intp), np.rint(probe[..., 1]).astype(np.intp)
    inside = ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)).all(axis=0)
    flat = np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)
    least = 0.25 * work.strengths[0]
    step = np.zeros(inside.shape, np.bool_)
    for channel in (work.gray, work.sat):
        v = channel.ravel().take(flat).astype(np.float32)
        step |= np.abs(v[0] - v[1]) > least
    seen = inside.sum(axis=1)
    share = (step & inside).sum(axis=1) / np.maximum(seen, 1)
    return np.asarray(np.where(seen >= 0.3 * samples, share, np.nan), np.float64)


def _end_hits(work: _Work, quad: F64, samples: int = 8) -> F64:
    """Per side of a quad (4, 2) in the shrunk frame, the share of stations where an edge of
    either channel crosses it within 1 px: on its line over the quarter of its length before its
    start, its first and last quarters, and the quarter after its end. Near its ends,
    stations outside the frame count as hits (what is not seen may be there); beyond them, as
    misses. Shape (4, 4)."""
    h, w = work.gray.shape
    spans = ((-0.25, -0.03), (0.03, 0.25), (0.75, 0.97), (1.03, 1.25))
    t = np.concatenate([np.linspace(a, b, samples) for a, b in spans])
    d, normal = _side_normals(quad)
    pts = quad[:, None, :] + t[None, :, None] * d[:, None, :]  # (4, T, 2)
    inside = (pts[..., 0] >= 1) & (pts[..., 0] < w - 2) & (pts[..., 1] >= 1) & (
        pts[..., 1] < h - 2)
    probe = pts[:, :, None, :] + np.array([-1.0, 0.0, 1.0])[None, None, :, None] * normal[
        :, None, None, :]
    xi = np.clip(np.rint(probe[..., 0]).astype(np.intp), 0, w - 1)
    yi = np.clip(np.rint(probe[..., 1]).astype(np.intp), 0, h - 1)
    flat = yi * w + xi
    nx, ny = normal[:, None, None, 0], normal[:, None, None, 1]
    hit = np.zeros(inside.shape, np.bool_)
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat), gyc.ravel().take(flat)
        proj = np.abs(gx * nx + gy * ny)
        hit |= ((proj > strength) & (proj > 0.6 * (np.abs(gx) + np.abs(gy)))).any(axis=2)
    near = np.zeros(t.shape, np.bool_)
    near[samples:3 * samples] = True
    hit = np.where(near[None, :], hit | ~inside, hit & inside)
    return np.asarray(hit.reshape(4, 4, samples).mean(axis=2), np.float64)


def _verified(work: _Work, quad: F64, support: F64) -> bool:
    """Last checks on a quad (4, 2) in the shrunk frame with tight side `support` (4,): every
    side in view shows some edge along it and some step across it, and a quad wholly in view
    is shaped like a document once perspective is undone."""
    seen = ~np.isnan(support)
    sides = np.sort(support[seen])
    # One side may be faint (a card's band against a ground of its colour); the others are
    # clearly seen.
    if len(sides) == 0 or (len(sides) >= 3 and sides[1] < _MIN_SIDE_FINAL_2):
        return False
    steps = _step_shares(work, quad)
    faint = seen & ((support < _MIN_SIDE_FINAL) | (np.nan_to_num(steps, nan=1.0)
                                                    < _MIN_STEP_SHARE))
    if faint.any():
        # A side with next to no edge or step along it is taken only where both its
        # neighbours' edges run right up to it and end there: the card's outline where its
        # sides end.
        ends = _end_hits(work, quad)
        reach = np.minimum(ends[_PREV, 2], ends[_NEXT, 1])
        past = np.maximum(ends[_PREV, 3], ends[_NEXT, 0])
        if (reach[faint] < _MIN_REACH).any() or (past[faint] > _MAX_PAST).any():
            return False
    h, w = work.gray.shape
    if seen.all() and (quad >= 1.0).all() and (quad[:, 0] <= w - 2.0).all() and (
            quad[:, 1] <= h - 2.0).all():
        error = float(_aspect_errors(_order_many(quad[None]), w, h)[0])
        if error > _MAX_FINAL_ASPECT_ERROR:
            return False
    return True


def find_document(image_bgr: npt.NDArray[np.uint8]) -> Detection | None:
    """Like `detect_document` but also returns the score and the support of each side.

    The score is the share of the sides' length where a straight edge runs right along the
    final quad (a side outside the frame counts half)."""
    image = _as_bgr(image_bgr)
    work = _prepare(image)
    found = _line_candidates(work)
    if found is None:
        return None
    # Candidates in order of value; refined and judged one at a time, as the first usually
    # passes. A quad that is a card with its shadow goes after the card.
    for index in _shadow_order(work, found):
        candidate = found.quads[index]
        full = (candidate[None] + 0.5) * work.factor - 0.5
        refined = _order_many(_refine_many(image, full, 1.5 * work.factor + 2.0, 1.5)[0])
        if _accept_many(full, refined)[0]:
            full = refined
        # The edges sampled close around the snapped quad serve both the final, tighter fit
        # and the straightness check.
        near = _edge_points(image, full, 3.0)
        snapped = full[0]
        refined = _order_many(_refine_many(image, full, 3.0, 1.0, near)[0])
        if _accept_many(full, refined)[0]:
            full = refined
        small = (full + 0.5) / work.factor - 0.5
        score, support = _final_score(work, small)
        # Three sides must be crisp; the fourth may be faint (a card's band against a
        # background of its colour) when the line search found it where the card's sides end.
        best3 = float(-np.sort(-np.nan_to_num(support[0], nan=0.5))[:3].mean())
        if best3 < _MIN_FINAL_SCORE_3 or score[0] < _MIN_FINAL_SCORE:
            continue
        if not _verified(work, small[0], support[0]):
            continue
        # In a frame of little contrast (edge threshold at its floor) noise moves the edge
        # peaks about: only the first test is made there.
        if not _straight_sides(image, snapped, near, work.strengths[0] > _EDGE_FLOOR):
            continue
        return Detection(order_corners(full[0]), float(score[0]),
                         tuple(float(v) for v in np.nan_to_num(support[0], nan=-1.0)))
    return None


def _accept_many(before: F64, after: F64) -> Mask:
    """Whether refined quads (N, 4, 2) are still sensible: convex, not moved or resized much."""
    edge = after[:, _NEXT] - after
    following = edge[:, _NEXT]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area_before = np.maximum(_areas(before), 1e-9)
    moved = np.hypot(*(after - before).transpose(2, 0, 1)).max(axis=1)
    ratio = _areas(after) / area_before
    return np.asarray(convex & (moved < 0.25 * np.sqrt(area_before)) & (ratio > 0.7)
                      & (ratio < 1.4), np.bool_)


def detect_document(image_bgr: npt.NDArray[np.uint8]) -> Quad | None:
    """Corners of the most prominent document, or None when there is none.

    Returns a float32 array of shape (4, 2) ordered top-left, top-right, bottom-right,
    bottom-left, in pixel coordinates of `image_bgr`. Corners of a document partly outside the
    frame may lie outside the image.
    """
    found = find_document(image_bgr)
    return None if found is None else found.quad


# --------------------------------------------------------------------------- helpers


def _shrink(image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
    """Halve (averaging 2x2 blocks) while the long side is at least twice the working size.
    (Halving twice costs a quarter of one INTER_AREA resize by four.)"""
    small, factor = image, 1.0
    while max(small.shape[:2]) >= 2 * _WORK_LONG_SIDE:
        h, w = small.shape[:2]
        small = np.asarray(cv2.resize(small, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
                           np.uint8)
        factor *= 2.0
    h, w = small.shape[:2]
    if max(h, w) > _MAX_WORK_LONG_SIDE:
        # Between the halvings (480x360, 1920x1080): once more to the working size, where
        # the thresholds in pixels were set and the cost per frame is known.
        scale = _WORK_LONG_SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(cv2.resize(small, size, interpolation=cv2.INTER_AREA), np.uint8)
        factor *= max(h, w) / _WORK_LONG_SIDE
    return small, factor


def _true_aspects(quads: F64, width: float, height: float) -> F64:
    """Long/short aspect of the rectangles seen as ordered quads (N, 4, 2), undoing perspective
    with a pinhole camera of focal length about the frame's long side (a phone held upright
    takes portrait frames), principal point at the centre (Zhang and He, whiteboard scanning).
    Falls back to the mean side ratio where that fails."""
    u0, v0, f = width / 2.0, height / 2.0, _FOCAL_PER_LONG_SIDE * max(width, height)
    # Zhang-He order: m1 top-left, m2 top-right, m3 bottom-left, m4 bottom-right. Their
    # k2 = (m1 x m4).m3 / (m2 x m4).m3 and k3 = (m1 x m4).m2 / (m3 x m4).m2; for points with
    # z = 1, (a x b).c is the plane cross product (b - a) x (c - a): all four at once.
    a = quads[:, [0, 1, 0, 3]]  # m1, m2, m1, m3
    b = quads[:, [2]] - a  # m4 - a
    c = quads[:, [3, 3, 1, 1]] - a  # m3, m3, m2, m2
    det = b[..., 0] * c[..., 1] - b[..., 1] * c[..., 0]
    den = det[:, 1::2]
    k = det[:, 0::2] / np.where(np.abs(den) > 1e-12, den, 1e-12)  # (N, 2): k2, k3
    # n2 = k2 m2 - m1 and n3 = k3 m3 - m1, then their lengths through the camera.
    nz = k - 1.0
    nxy = k[..., None] * quads[:, [1, 3]] - quads[:, None, 0]
    x = (nxy[..., 0] - u0 * nz) / f
    y = (nxy[..., 1] - v0 * nz) / f
    norm2 = np.maximum(x * x + y * y + nz * nz, 1e-12)
    ratio = np.sqrt(norm2[:, 0] / norm2[:, 1])
    sides = np.hypot(*(quads[:, _NEXT] - quads).transpose(2, 0, 1))
    naive = (sides[:, 0] + sides[:, 2]) / np.maximum(sides[:, 1] + sides[:, 3], 1e-9)
    ratio = np.where(np.isfinite(ratio) & (ratio > 0.2) & (ratio < 5.0), ratio, naive)
    return np.asarray(np.maximum(ratio, 1.0 / np.maximum(ratio, 1e-9)), np.float64)


def _aspect_errors(quads: F64, width: float, height: float) -> F64:
    """|log| distance of the perspective-corrected aspect to the nearest document aspect."""
    aspect = _true_aspects(quads, width, height)
    return np.asarray(np.abs(np.log(aspect[:, None] / _DOCUMENT_ASPECTS[None, :])).min(axis=1),
                      np.float64)


def _order_many(quads: F64) -> F64:
    """`geometry.order_corners` for a stack of quads at once."""
    centre = quads.mean(axis=1, keepdims=True)
    angle = np.arctan2(quads[..., 1] - centre[..., 1], quads[..., 0] - centre[..., 0])
    rows = np.arange(len(quads))[:, None]
    clockwise = quads[rows, np.argsort(angle, axis=1)]
    start = np.argmin(clockwise[..., 0] + (1.0 - 1e-9) * clockwise[..., 1], axis=1)
    return np.asarray(clockwise[rows, (start[:, None] + np.arange(4)) % 4], np.float64)


def _side_normals(quads: F64) -> tuple[F64, F64]:
    """The sides of quads (..., 4, 2) as vectors from each corner to the next, and their unit
    normals (outward for a quad clockwise on screen)."""
    d = quads[..., _NEXT, :] - quads
    length = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    return d, np.stack([d[..., 1], -d[..., 0]], axis=-1) / length[..., None]


def _areas(quads: F64) -> F64:
    x, y = quads[..., 0], quads[..., 1]
    return np.asarray(
        0.5 * np.abs((x * y[..., _NEXT] - y * x[..., _NEXT]).sum(axis=-1)),
        np.float64)


def _edge_points(image: npt.NDArray[np.uint8], quads: F64, reach: float) -> tuple[F64, F64]:
    """For each side of each quad (K, 4, 2) and evenly spaced stations along it, the outline
    edge crossing the side within +-reach px along its outward normal, all in one remap.
    Returns points (K*4, S, 2) and strengths (K*4, S); strength 0 where nothing was seen."""
    samples = _REFINE_SAMPLES
    a = quads.reshape(-1, 2)
    sides, normals = _side_normals(quads)
    d, normal = sides.reshape(-1, 2), normals.reshape(-1, 2)
    rows_n = len(a)
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


def _refine_many(image: npt.NDArray[np.uint8], quads: F64, reach: float, tolerance: float,
                 found: tuple[F64, F64] | None = None) -> tuple[F64, F64]:
    """Snap each side of each quad (K, 4, 2) to the outline edge near it and intersect
    neighbouring sides. A side with too little evidence (hidden, or outside the frame) keeps
    its current position. Returns quads (K, 4, 2) and per-side shares of stations on the line.
    `found`: the quads' `_edge_points` at `reach`, when already sampled."""
    n = len(quads)
    pts, strength = _edge_points(image, quads, reach) if found is None else found
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


def _straight_sides(image: npt.NDArray[np.uint8], quad: F64,
                    found: tuple[F64, F64] | None = None, curves: bool = True) -> bool:
    """Final check at full resolution: the outline must run along straight lines. Curved
    things (heads, mugs, hands) can be boxed by a quad whose sides touch edges here and there,
    but their edge points do not line up within a pixel. `found`: the quad's `_edge_points`
    at reach 3 when already sampled. `curves`: also refuse a quad two of whose sides are only
    tangents to a curved outline (`_edge_share`)."""
    pts, strength = _edge_points(image, quad[None], 3.0) if found is None else found
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
    if visible.sum() < 2 or straight.sum() < min(3, int(visible.sum())):
        return False
    if not curves:
        return True
    # A quad boxing a round thing touches it on two sides (a head between two lines, a plate
    # between ruled lines). Sides whose inliers here mostly peak inside this narrow window are
    # straight edges: the wider search is needed only when two sides are in doubt.
    inside = inlier & (np.abs(_offsets(pts, quad)) < 2.0 - 1e-3)
    if (visible & (inside.mean(axis=1) < _SURE_SHARE)).sum() < 2:
        return True
    curved = visible & (_edge_share(image, quad, tolerance) < _MIN_EDGE_SHARE)
    return bool(curved.sum() < 2)


def _edge_share(image: npt.NDArray[np.uint8], quad: F64, tolerance: F64) -> F64:
    """Per side of `quad` (4, 2), the share of stations on one straight line among those where
    the edge searched over +-`_EDGE_REACH` px peaks inside that window. Where a side is only
    a tangent to a curved outline (a head, a plate), the curve leaves the window a little way
    from where it touches; the stations there see the edge beyond the window's end (or a
    flat stretch), all at the same offset, which `_straight_sides` takes for a straight
    line."""
    pts, strength = _edge_points(image, quad[None], _EDGE_REACH)
    usable = (strength >= _STRAIGHT_STRENGTH) & (np.abs(_offsets(pts, quad))
                                                 < _EDGE_REACH - 1.0 - 1e-3)
    return _robust_lines(pts, usable, tolerance)[1]


def _offsets(pts: F64, quad: F64) -> F64:
    """Offsets (4, S) of `_edge_points` (4, S, 2) of `quad` (4, 2) along its sides' outward
    normals (the window's ends, +-(reach - 1), mean the edge lies beyond it)."""
    d, normal = _side_normals(quad)
    # The stations as `_edge_points` lays them out.
    t = np.linspace(0.05, 0.95, pts.shape[1])
    base = quad[:, None, :] + t[None, :, None] * d[:, None, :]
    return np.asarray(((pts - base) * normal[:, None, :]).sum(axis=2), np.float64)


def _as_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    return np.ascontiguousarray(image, dtype=np.uint8)
