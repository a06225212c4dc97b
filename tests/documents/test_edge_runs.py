"""The compiled labelling of edge runs (`detect.runs.edge_runs`) against OpenCV's labelling of
each bin's pixels as an image."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.runs import COUNT, edge_runs


def _reference(ys: npt.NDArray[np.int64], xs: npt.NDArray[np.int64],
               bins: npt.NDArray[np.int64], h: int, w: int,
               min_count: float) -> npt.NDArray[np.float64]:
    """The moments of the runs of each bin, labelled by `cv2.connectedComponents` on an image
    of that bin's pixels, in the order `edge_runs` gives them: by binning, then by first
    pixel in raster order."""
    runs: list[tuple[int, int, list[float]]] = []
    for b, row in enumerate(bins):
        for value in np.unique(row):
            mine = row == value
            mask = np.zeros((h, w), np.uint8)
            mask[ys[mine], xs[mine]] = 1
            n, labels = cv2.connectedComponents(mask, connectivity=8)
            label = labels[ys[mine], xs[mine]]
            for k in range(1, n):
                x = xs[mine][label == k].astype(np.float64)
                y = ys[mine][label == k].astype(np.float64)
                if len(x) < min_count:
                    continue
                first = int((y * w + x).min())
                runs.append((b, first, [float(len(x)), x.sum(), y.sum(), (x * x).sum(),
                                        (y * y).sum(), (x * y).sum(), (x ** 3).sum(),
                                        (y ** 3).sum(), (x * x * y).sum(), (x * y * y).sum()]))
    runs.sort(key=lambda run: run[:2])
    return np.array([moments for *_, moments in runs]).reshape(-1, 10)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.02, 0.6),
       n_bins=st.integers(1, 4), min_count=st.sampled_from([1.0, 3.0, 9.6]))
def test_runs_are_those_opencv_labels(seed: int, density: float, n_bins: int,
                                      min_count: float) -> None:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 40)), int(rng.integers(1, 60))
    # Edge pixels in raster order (as `np.flatnonzero` of a frame gives them), in blobs and
    # lines as well as scattered, with a bin each in two binnings.
    frame = rng.random((h, w)) < density
    flat = np.flatnonzero(frame)
    ys, xs = (v.astype(np.int64) for v in np.divmod(flat, w))
    bins = rng.integers(0, n_bins, (2, len(flat))).astype(np.int64)
    got = edge_runs(ys, xs, bins, h, w, min_count)
    assert np.array_equal(got, _reference(ys, xs, bins, h, w, min_count))


def test_a_line_of_one_direction_is_one_run_and_a_zigzag_of_two_is_not() -> None:
    # A diagonal line of 20 pixels (8-connected) in bin 1 of both binnings; beside it, 10
    # pixels along a row whose bins alternate in the first binning and agree in the second.
    diagonal = np.arange(20)
    xs = np.concatenate([diagonal, 30 + np.arange(10)])
    ys = np.concatenate([diagonal, np.full(10, 5)])
    order = np.lexsort((xs, ys))
    xs, ys = xs[order].astype(np.int64), ys[order].astype(np.int64)
    first = np.where(xs >= 30, xs % 2, 1)
    second = np.where(xs >= 30, 2, 1)
    moments = edge_runs(ys, xs, np.stack([first, second]).astype(np.int64), 25, 45, 5.0)
    # The first binning's diagonal (the zigzag's pixels are runs of one), then the second's
    # diagonal and row.
    assert moments[:, COUNT].tolist() == [20.0, 20.0, 10.0]
    assert moments[2, 1] == sum(range(30, 40)) and moments[2, 2] == 50.0
