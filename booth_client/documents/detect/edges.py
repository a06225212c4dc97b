"""Stage 1, edges: the shrunk working frame with its gradients and edge pixels (`Work`), which
the later stages share.

The search runs on a copy shrunk to 320 px on the long side (1280x720 -> 320x180, 4032x3024
-> 320x240), where its pixel thresholds were set; landscape frames up to 400 px (and
halvings, 1600x900 -> 400x225) are searched as they are. A portrait frame is shrunk to
`PORTRAIT_LONG_SIDE` (720x1280 -> 248x440, 3024x4032 -> 330x440): a document is
framed by the frame's width, its short side, so it is smaller there. The finer search for
small documents (`FINE_LONG_SIDE`) shrinks to 480 px the same way. Its edges: Canny on the
stronger of the grey and saturation gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from numba import njit

_WORK_LONG_SIDE: Final = 320
# A landscape frame is searched as it is up to this much over the working size; a portrait
# one is brought to it (see `_shrink`).
_AS_IT_IS: Final = 1.25
# The finer working size, for small documents (see `find_document`).
FINE_LONG_SIDE: Final = 480
# The working size of a portrait frame (taller than wide).
PORTRAIT_LONG_SIDE: Final = 440
_EDGE_STRENGTH: Final = 40.0
EDGE_FLOOR: Final = 16.0
# Mean grey (0-255) of the shrunk frame below which it counts as dark (a dim room).
_DARK_MEAN: Final = 70.0


@dataclass
class Work:
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
    # The colours of the halved frame binned by `surround.colour_codes`, by bins per channel,
    # as the surround measures have made them (each frame's once).
    colours: dict[int, npt.NDArray[np.int32]] = field(default_factory=dict)


def prepare(image: npt.NDArray[np.uint8], long_side: int = _WORK_LONG_SIDE,
            halves: list[npt.NDArray[np.uint8]] | None = None) -> Work:
    """The working frame of `image` at `long_side` px on its long side, and its edges.
    `halves`: the halvings of `image` made so far, shared by the searches of one frame (see
    `_shrink`)."""
    small, factor = _shrink(image, long_side, halves)
    gray = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
    hsv = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2HSV), np.uint8)
    sat = np.asarray(cv2.extractChannel(hsv, 1), np.uint8)
    # In a dark frame every contrast shrinks with the light: the grey edge threshold follows
    # the frame's strongest gradients down to a floor above sensor noise. Saturation is a ratio
    # and does not shrink (it only gets noisier), so its threshold stays.
    gx = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), np.float32)
    gy = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3), np.float32)
    # (As float32, in which the thresholds below are worked out.)
    q90, q98 = (np.float32(q) for q in _order_statistics(gx, gy))
    grey = float(np.clip(0.2 * q98, EDGE_FLOOR, _EDGE_STRENGTH))
    # Grey and saturation are judged separately (their polarities differ across one edge), so
    # a blue card on a brown desk of the same brightness still has edges. The saturation
    # gradients are scaled so that its threshold (_EDGE_STRENGTH) lands on grey's: both
    # channels then share one threshold and one edge map.
    scale = grey / _EDGE_STRENGTH
    sx = np.asarray(cv2.Sobel(sat, cv2.CV_32F, 1, 0, ksize=3, scale=scale), np.float32)
    sy = np.asarray(cv2.Sobel(sat, cv2.CV_32F, 0, 1, ksize=3, scale=scale), np.float32)
    gradients = ((gx, gy), (sx, sy))
    # One edge map from both channels: per pixel the channel with the stronger edge.
    dx, dy, dx16, dy16 = _stronger(gx, gy, sx, sy)
    high = float(np.clip(q90, 2.5 * grey, 10 * grey))
    # |Sobel| <= 4 * 255 on uint8 channels, so the gradients fit int16 as they are.
    edges = cv2.Canny(dx16, dy16, 0.5 * high, high)
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
    return Work(gray, sat, gradients, factor, (grey, grey), at, steps, small, dark)


@njit("UniTuple(float64, 2)(float32[:, :], float32[:, :])", cache=True, nogil=True)
def _order_statistics(gx: npt.NDArray[np.float32],
                      gy: npt.NDArray[np.float32]) -> tuple[float, float]:
    """The 90th and 98th percentiles (as `np.partition` gives them) of the gradient's L1
    norm |gx| + |gy| over every other pixel each way, in whole numbers: the gradients of
    uint8 channels are whole numbers, so they come from a histogram in one pass."""
    h, w = gx.shape
    # |gx| + |gy| of a 3x3 Sobel of a uint8 channel is at most 2 * 4 * 255.
    counts = np.zeros(2 * 4 * 255 + 1, np.int64)
    n = 0
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            counts[int(abs(gx[y, x]) + abs(gy[y, x]))] += 1
            n += 1
    out = np.zeros(2)
    for i, share in enumerate((0.90, 0.98)):
        # The value at rank int(share * (n - 1)): the first whose cumulative count exceeds it.
        rank, below, value = int(share * (n - 1)), 0, 0
        while below + counts[value] <= rank:
            below += counts[value]
            value += 1
        out[i] = value
    return out[0], out[1]


@njit("Tuple((float32[:, ::1], float32[:, ::1], int16[:, ::1], int16[:, ::1]))"
      "(float32[:, ::1], float32[:, ::1], float32[:, ::1], float32[:, ::1])", cache=True,
      nogil=True)
def _stronger(gx: npt.NDArray[np.float32], gy: npt.NDArray[np.float32],
              sx: npt.NDArray[np.float32], sy: npt.NDArray[np.float32]) -> tuple[
                  npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int16],
                  npt.NDArray[np.int16]]:
    """Per pixel, the gradient (x, y) of the channel whose edge is the stronger (L1 norm):
    saturation (`sx`, `sy`) where it is stronger than grey (`gx`, `gy`), else grey; and the
    same truncated to int16 for Canny (as `astype(np.int16)` truncates). (One pass over
    contiguous rows, with a select rather than a branch, which the compiler vectorises.)"""
    h, w = gx.shape
    dx, dy = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
    ix, iy = np.empty((h, w), np.int16), np.empty((h, w), np.int16)
    for y in range(h):
        grey_x, grey_y, sat_x, sat_y = gx[y], gy[y], sx[y], sy[y]
        out_x, out_y, int_x, int_y = dx[y], dy[y], ix[y], iy[y]
        for x in range(w):
            sat = abs(sat_x[x]) + abs(sat_y[x]) > abs(grey_x[x]) + abs(grey_y[x])
            vx = sat_x[x] if sat else grey_x[x]
            vy = sat_y[x] if sat else grey_y[x]
            out_x[x], out_y[x] = vx, vy
            int_x[x], int_y[x] = np.int16(vx), np.int16(vy)
    return dx, dy, ix, iy


def _shrink(image: npt.NDArray[np.uint8], long_side: int = _WORK_LONG_SIDE,
            halves: list[npt.NDArray[np.uint8]] | None = None) -> tuple[
                npt.NDArray[np.uint8], float]:
    """Halve (averaging 2x2 blocks) while the long side is at least twice the working size,
    then bring it to the working size (a landscape frame within `_AS_IT_IS` of it stays).
    (Halving twice costs a quarter of one INTER_AREA resize by four.) Bilinear sampling at
    exactly half size samples midway between four pixels, their mean as INTER_AREA takes it
    (the same bytes), in two thirds of the time; odd sizes keep INTER_AREA.

    `halves` holds the halvings of `image` made so far (the first, the second, ...): those
    are taken from it and the new ones added, so the finer search of a frame does not halve
    it again (1280x720 -> 640x360 serves both working sizes)."""
    small, factor = image, 1.0
    done = 0
    while max(small.shape[:2]) >= 2 * long_side:
        if halves is not None and done < len(halves):
            small = halves[done]
        else:
            h, w = small.shape[:2]
            exact = h % 2 == 0 and w % 2 == 0
            small = np.asarray(cv2.resize(small, (w // 2, h // 2), interpolation=(
                cv2.INTER_LINEAR if exact else cv2.INTER_AREA)), np.uint8)
            if halves is not None:
                halves.append(small)
        done += 1
        factor *= 2.0
    h, w = small.shape[:2]
    # A landscape frame a little over the working size is searched as it is (800x600 and
    # 1600x900 halved to 400 px: mean IoU 0.870, 0.865, 0.893 and 0.899 on four sets of
    # photo-backdrop scenes, against 0.864, 0.865, 0.887 and 0.891 brought to 320 px). A
    # portrait one is brought to it: searched larger, its document is found less often (a
    # phone's 3:4 portrait frame halved to 384x512, 1080x1920 to 270x480: 0.847, 0.799 and
    # 0.803 on three sets, against 0.870, 0.833 and 0.823 at 440 px).
    if max(h, w) > (1.0 if h > w else _AS_IT_IS) * long_side:
        # Between the halvings (480x360, 1920x1080): once more to the working size, where
        # the thresholds in pixels were set and the cost per frame is known.
        scale = long_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if h % 4 == 0 and w % 4 == 0 and size == (w // 4 * 3, h // 4 * 3):
            small = _three_quarters(small)
        else:
            small = _area_shrunk(small, size)
        factor *= max(h, w) / long_side
    return small, factor


def _area_shrunk(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """`image` shrunk to `size` (width, height) as INTER_AREA shrinks it, the same bytes, in
    two thirds of the time (640x360 -> 440x248 for a portrait frame: 1.0 against 1.45 ms).
    At a scale that is no whole fraction, OpenCV sums the weighted pixels in float for uint8
    as for float32 input and rounds half to even as `convertScaleAbs` does, but its uint8
    path is the slower one."""
    shrunk = cv2.resize(image.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.convertScaleAbs(shrunk), np.uint8)


@njit(cache=True, nogil=True, inline="always")
def _sixteenths(total: int | np.signedinteger[Any]) -> int | np.signedinteger[Any]:
    """`total` / 16 rounded half to even (0 <= `total` < 2^31 - 23): the 7 and the quotient's
    lowest bit carry into the next sixteen exactly when the remainder is over 8, or is 8 and
    the quotient odd."""
    return (total + 7 + ((total >> 4) & 1)) >> 4


def _three_quarters(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`image` (h x w x 3, h and w multiples of 4) shrunk to 3/4 of its size as INTER_AREA
    shrinks it, the same bytes (640x360 -> 480x270 for the finer search of a 1280x720 frame),
    in a quarter of its time (0.28 against 1.2 ms). Each output pixel of INTER_AREA at 3/4
    weighs two source pixels each way by 3/4 and 1/4, 1/2 and 1/2, or 1/4 and 3/4: the
    weighted sum in sixteenths is a whole number, rounded half to even as INTER_AREA rounds."""
    h, w, _ = image.shape
    rows = np.ascontiguousarray(image).reshape(h, w * 3)
    return _three_quarter_rows(rows).reshape(h // 4 * 3, w // 4 * 3, 3)


@njit("uint8[:, ::1](uint8[:, ::1])", cache=True, nogil=True)
def _three_quarter_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`_three_quarters` of a frame given as rows of interleaved colours (3 bytes a pixel)."""
    h, row = rows.shape
    blocks = row // 12
    out = np.empty((h // 4 * 3, blocks * 9), np.uint8)
    # Each block of 4 rows, in quarters (whole numbers up to 4 x 255): rows 0-1 by 3/4 and
    # 1/4, 1-2 by 1/2 and 1/2, 2-3 by 1/4 and 3/4; then each block of 4 pixels (12 bytes) of
    # those the same way across, per colour.
    mixed = np.empty((3, row), np.int16)
    for by in range(h // 4):
        a, b, c, d = rows[4 * by], rows[4 * by + 1], rows[4 * by + 2], rows[4 * by + 3]
        first, second, third = mixed[0], mixed[1], mixed[2]
        for x in range(row):
            first[x] = 3 * np.int16(a[x]) + np.int16(b[x])
            second[x] = 2 * np.int16(b[x]) + 2 * np.int16(c[x])
            third[x] = np.int16(c[x]) + 3 * np.int16(d[x])
        for k in range(3):
            m, o = mixed[k], out[3 * by + k]
            for bx in range(blocks):
                at, to = 12 * bx, 9 * bx
                for colour in range(3):
                    p0, p1 = np.int32(m[at + colour]), np.int32(m[at + 3 + colour])
                    p2, p3 = np.int32(m[at + 6 + colour]), np.int32(m[at + 9 + colour])
                    o[to + colour] = _sixteenths(3 * p0 + p1)
                    o[to + 3 + colour] = _sixteenths(2 * p1 + 2 * p2)
                    o[to + 6 + colour] = _sixteenths(p2 + 3 * p3)
    return out


def as_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """`image` as a contiguous 8-bit BGR frame: a grey one (H, W) or (H, W, 1) and a BGRA one
    (H, W, 4) are converted. Anything else (another dtype, which would wrap or truncate; another
    number of channels; an empty frame) is refused with a ValueError saying what was given."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"a frame is a numpy array, not {type(image).__name__}")
    shape = "x".join(str(n) for n in image.shape)
    if image.dtype != np.uint8:
        raise ValueError(f"a frame is 8-bit (uint8) BGR, grey or BGRA, not {image.dtype} {shape}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"a frame is H x W (grey), H x W x 3 (BGR) or H x W x 4 (BGRA), not "
                         f"{shape}")
    if image.size == 0:
        raise ValueError(f"the frame is empty ({shape})")
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), np.uint8)
    return np.ascontiguousarray(image)
