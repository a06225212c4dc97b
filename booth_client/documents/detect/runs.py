"""Connected runs of edge pixels of one gradient orientation, and their moments (for
`lines.segment_lines`), compiled with numba.

The edge pixels of a 320x180 working frame are a few thousand of its 57,600 pixels (6,700 on
average in front of photographs). Labelling them as an image (the 8 orientation bins side by
side for `cv2.connectedComponents`), then gathering each pixel's label and summing the moments
with a dozen `np.bincount`s, passed over half a million pixels and cost about 0.75 ms a frame.
Joining the edge pixels themselves to their neighbours (union-find) and summing the moments of
the long runs in the same kernel costs about 0.3 ms, with the same runs and moments
(`tests/documents/test_edge_runs.py` checks them against OpenCV's labelling).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

# The moments of each run (`edge_runs`), columns of its row: the number of pixels, then the
# sums of x, y, x^2, y^2, xy, x^3, y^3, x^2 y and x y^2 over them.
COUNT: Final = 0
FIRST: Final = slice(1, 3)
SECOND: Final = slice(3, 6)
THIRD: Final = slice(6, 10)


@njit(cache=True, nogil=True, inline="always")
def _root(parent: npt.NDArray[np.int32], i: int) -> int:
    """The root of `i`'s tree, halving the path on the way (every other node then points to
    its grandparent)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True, inline="always")
def _join(parent: npt.NDArray[np.int32], i: int, j: int) -> None:
    """Join the trees of nodes `i` and `j`: the larger root goes under the smaller, so a
    run's root stays its first pixel."""
    ri, rj = _root(parent, i), _root(parent, j)
    if ri < rj:
        parent[rj] = ri
    elif rj < ri:
        parent[ri] = rj


@njit("float64[:, :](int64[:], int64[:], int64[:, :], int64, int64, float64)", cache=True,
      nogil=True)
def edge_runs(ys: npt.NDArray[np.int64], xs: npt.NDArray[np.int64],
              bins: npt.NDArray[np.int64], h: int, w: int,
              min_count: float) -> npt.NDArray[np.float64]:
    """The runs of at least `min_count` pixels among the edge pixels (`ys`, `xs`: N pixels of
    an h x w frame, in raster order) in each of B binnings of their gradient direction: pixels
    8-connected in the frame and in the same bin (`bins`, (B, N)) make one run.

    Returns the moments of each such run (R, 10), the first binning's runs first, each in
    the order of its first pixel, in columns `COUNT`, `FIRST`, `SECOND` and `THIRD`. The
    moments of pixel coordinates are whole numbers, summed exactly in float64."""
    n = len(ys)
    n_bins = bins.shape[0]
    # Each pixel's index, in a frame padded by a row above and a column either side, so its
    # four neighbours already visited (up-left, up, up-right, left) need no bounds checks.
    wide = w + 2
    index = np.full((h + 1) * wide, -1, np.int32)
    for i in range(n):
        index[(ys[i] + 1) * wide + xs[i] + 1] = i
    # Pixel i of binning b is node b * N + i; a run's root is its first pixel (the least node).
    parent = np.arange(n_bins * n).astype(np.int32)
    for i in range(n):
        at = (ys[i] + 1) * wide + xs[i] + 1
        up_left, up, up_right = index[at - wide - 1], index[at - wide], index[at - wide + 1]
        left = index[at - 1]
        for b in range(n_bins):
            node, first, bin_i = b * n + i, b * n, bins[b, i]
            # The neighbour above touches the other three: where it is in the run, they
            # already are too, if in it at all. The one to the left touches the one above
            # on the left.
            if up >= 0 and bins[b, up] == bin_i:
                _join(parent, node, first + up)
                continue
            if left >= 0 and bins[b, left] == bin_i:
                _join(parent, node, first + left)
            elif up_left >= 0 and bins[b, up_left] == bin_i:
                _join(parent, node, first + up_left)
            if up_right >= 0 and bins[b, up_right] == bin_i:
                _join(parent, node, first + up_right)
    count = np.zeros(n_bins * n, np.int32)
    for k in range(n_bins * n):
        parent[k] = _root(parent, k)
        count[parent[k]] += 1
    # The long runs numbered in the order of their roots.
    run = np.full(n_bins * n, -1, np.int32)
    n_runs = 0
    for k in range(n_bins * n):
        if parent[k] == k and count[k] >= min_count:
            run[k] = n_runs
            n_runs += 1
    moments = np.zeros((n_runs, 10))
    for b in range(n_bins):
        for i in range(n):
            r = run[parent[b * n + i]]
            if r < 0:
                continue
            x, y = float(xs[i]), float(ys[i])
            xx, yy = x * x, y * y
            moments[r, 0] += 1.0
            moments[r, 1] += x
            moments[r, 2] += y
            moments[r, 3] += xx
            moments[r, 4] += yy
            moments[r, 5] += x * y
            moments[r, 6] += xx * x
            moments[r, 7] += yy * y
            moments[r, 8] += xx * y
            moments[r, 9] += x * yy
    return moments
