"""Stage 2, edge profiles: along each line, stations 2 px apart record whether an edge of each
polarity (grey and saturation) crosses the line there, as cumulative counts, so the support of
any stretch of the line is two look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .edges import Work
from .shape import F64, Mask, stacked

STEP: Final = 2.0
_END_TRIM: Final = 0.08


@dataclass
class Profiles:
    """Edge evidence along each line, as cumulative counts over stations `STEP` px apart."""

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
        self.meet = stacked(x / zs, y / zs)
        along = ((self.meet - self.origin[:, None, :]) * self.direction[:, None, :]).sum(axis=2)
        self.station = (along + self.reach) / STEP

    def point_at(self, line: npt.NDArray[np.intp], station: npt.NDArray[np.floating[Any]] |
                 npt.NDArray[np.intp]) -> F64:
        """The points (..., 2) at `station` along each of `line` (...): `station`'s inverse."""
        return np.asarray(self.origin[line] + (station[..., None] * STEP - self.reach)
                          * self.direction[line], np.float64)


def profiles(work: Work, lines: F64, n_real: int) -> Profiles:
    """Profiles of `lines`; those from `n_real` on lie on the frame border and see nothing."""
    return Profiles(lines, *profile_parts(work, lines, n_real))


def profile_parts(work: Work, lines: F64, n_real: int) -> tuple[
        F64, F64, float, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The fields of `profiles(work, lines, n_real)` after its lines (origin, direction, reach,
    hits, valid), without working out where the lines meet: for lines to be joined to others
    (`Profiles.__post_init__` works that out for them all)."""
    h, w = work.gray.shape
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    n = lines[:, :2]
    dist = n[:, 0] * centre[0] + n[:, 1] * centre[1] + lines[:, 2]
    origin = centre[None, :] - dist[:, None] * n
    direction = stacked(-n[:, 1], n[:, 0])
    reach = float(np.ceil(np.hypot(w, h) / 2 / STEP) * STEP)
    t = np.arange(-reach, reach + 0.5, STEP)
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
    return origin, direction, reach, hits, valid


def span_support(prof: Profiles, line: npt.NDArray[np.intp], start: F64, end: F64) -> F64:
    """Support of the stretches of `line` from station `start` to `end` (broadcast together),
    less `_END_TRIM` at each end: the largest share of stations where an edge of one map and
    polarity crosses, NaN for a stretch mostly outside the frame."""
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    trim = _END_TRIM * (hi - lo)
    stride = prof.valid.shape[1]
    last = stride - 1
    base = line * stride
    # (np.clip on these small arrays costs more than the two ufuncs it wraps.)
    ia = base + np.minimum(np.maximum(np.rint(lo + trim), 0), last).astype(np.intp)
    ib = base + np.minimum(np.maximum(np.rint(hi - trim), 0), last).astype(np.intp)
    flat_hits = prof.hits.reshape(len(prof.hits), -1)
    flat_valid = prof.valid.ravel()
    hits = flat_hits.take(ib, axis=1) - flat_hits.take(ia, axis=1)  # (M, ...)
    valid = flat_valid.take(ib) - flat_valid.take(ia)
    support = np.max(hits, axis=0) / np.maximum(valid, 1.0)
    return np.asarray(np.where(valid >= 0.3 * np.maximum(ib - ia, 1), support, np.nan),
                      np.float64)


def between_pairs(prof: Profiles, pairs: npt.NDArray[np.intp]) -> F64:
    """The support (`span_support`) of every line between the two lines of every pair (P, 2),
    (L, P): each side of a quad lies on one line between the two lines of a pair, so each is
    looked up once."""
    every = np.arange(len(prof.lines))[:, None]
    # (Looked up in the flat array: `take` is quicker than indexing with a pair of arrays.)
    at = every * len(prof.lines)
    return span_support(prof, every, prof.station.take(at + pairs[None, :, 0]),
                        prof.station.take(at + pairs[None, :, 1]))
