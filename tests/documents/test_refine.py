"""Snapping to edges (`detect.refine`): the compiled consensus of `robust_lines` against its
numpy definition."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.refine import _PAIR_INDEX, fit_lines, robust_lines


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 12), noise=st.floats(0.0, 3.0),
       share=st.floats(0.0, 1.0), per_row=st.booleans())
def test_robust_lines_take_the_largest_consistent_subset(seed: int, rows: int, noise: float,
                                                         share: float, per_row: bool) -> None:
    # Points along a line per row, moved across it by up to `noise` px, a share of them
    # thrown far off (a thumb, glare), some not usable.
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 100, 32)
    angle = rng.uniform(0, np.pi, (rows, 1))
    pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=2)
    pts += rng.uniform(0, 300, (rows, 1, 2))
    pts += rng.uniform(-noise, noise, pts.shape)
    off = rng.random((rows, 32)) < 0.3
    pts[off] += rng.uniform(-40, 40, (int(off.sum()), 2))
    usable = rng.random((rows, 32)) < share
    tolerance = rng.uniform(0.5, 3.0, (rows, 1, 1)) if per_row else 1.5
    lines, on_line, inlier = robust_lines(pts, usable, tolerance)
    # By definition: of the lines through the pairs of usable points, the first that most
    # usable points lie within `tolerance` of.
    p, q = pts[:, _PAIR_INDEX[:, 0]], pts[:, _PAIR_INDEX[:, 1]]
    pair_ok = usable[:, _PAIR_INDEX[:, 0]] & usable[:, _PAIR_INDEX[:, 1]]
    d = q - p
    norm = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    nx, ny = d[..., 1] / norm, -d[..., 0] / norm
    c = -(nx * p[..., 0] + ny * p[..., 1])
    resid = np.abs(nx[..., None] * pts[:, None, :, 0] + ny[..., None] * pts[:, None, :, 1]
                   + c[..., None])
    close = (resid < tolerance) & usable[:, None, :]
    best = np.argmax(np.where(pair_ok, close.sum(axis=2), -1), axis=1)
    want = close[np.arange(rows), best]
    assert np.array_equal(inlier, want)
    assert np.array_equal(on_line, want.mean(axis=1))
    assert np.array_equal(lines, fit_lines(pts, want.astype(np.float64)))
