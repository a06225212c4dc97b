"""The colour step across quads' sides (`detect.verify.colour_steps`): the compiled loop
against its definition written out with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.edges import Work, prepare
from booth_client.documents.detect.shape import F64, side_normals
from booth_client.documents.detect.verify import colour_steps
from booth_client.documents.synthetic import make_scene

from .random_lines import random_quads

OFFSETS = np.array([4.0, 5.0, 6.0, 7.0, 8.0])
PROBES = np.concatenate([-OFFSETS[::-1], OFFSETS])
STATIONS, PIECES = 16, 4


def _by_definition(work: Work, quads: F64) -> F64:
    """Per quad and side: at 16 stations along the side, the colours summed 4-8 px outside and
    inside it (a station counts where its outermost probes are in the frame); per quarter of
    the side with two stations or more in view, the distance between the mean colours; the
    median of those quarters, NaN where none is or fewer than 0.3 of the stations are in
    view. In float32, as the colour sums are whole numbers."""
    h, w = work.gray.shape
    n = len(quads)
    t = np.linspace(0.1, 0.9, STATIONS)
    d, normal = side_normals(quads)
    x = quads[:, :, None, 0] + t * d[:, :, None, 0]
    y = quads[:, :, None, 1] + t * d[:, :, None, 1]
    xi = np.rint(x[..., None] + PROBES * normal[:, :, None, None, 0]).astype(np.intp)
    yi = np.rint(y[..., None] + PROBES * normal[:, :, None, None, 1]).astype(np.intp)
    ends_x, ends_y = xi[..., [0, -1]], yi[..., [0, -1]]
    ok = ((ends_x >= 0) & (ends_x < w) & (ends_y >= 0) & (ends_y < h)).all(axis=3)
    colour = work.bgr[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)].astype(np.float32)
    # (N, 4, S, 2 sides, 5 offsets, 3) summed over the offsets and, per piece, its stations.
    sides = colour.reshape(n, 4, STATIONS, 2, 5, 3).sum(axis=4)
    per = STATIONS // PIECES
    weight = ok.reshape(n, 4, PIECES, per).astype(np.float32)
    summed = (sides.reshape(n, 4, PIECES, per, 2, 3) * weight[..., None, None]).sum(axis=3)
    count = weight.sum(axis=3)
    diff = (summed[..., 0, :] - summed[..., 1, :]) / (np.maximum(count, 1.0) * 5)[..., None]
    step = np.sqrt((diff * diff).sum(axis=3))
    step = np.sort(np.where(count >= 2, step, np.inf), axis=2)
    m = (count >= 2).sum(axis=2)
    lo = np.take_along_axis(step, np.maximum((m - 1) // 2, 0)[..., None], axis=2)[..., 0]
    hi = np.take_along_axis(step, np.maximum(m // 2, 0)[..., None], axis=2)[..., 0]
    seen = (m >= 1) & (ok.mean(axis=2) >= 0.3)
    return np.asarray(np.where(seen, (lo + np.where(m >= 2, hi, lo)) / 2, np.nan), np.float64)


@pytest.fixture(scope="module")
def works() -> list[Work]:
    return [prepare(make_scene(seed, width, height).image)
            for seed, width, height in ((7, 1280, 720), (100020, 1280, 720), (9, 720, 1280))]


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_colour_steps_are_read_as_defined(works: list[Work], which: int, seed: int,
                                          n: int) -> None:
    work = works[which]
    h, w = work.gray.shape
    # Quads of any size and turn, some reaching out of the frame, some wholly outside it.
    rng = np.random.default_rng(seed)
    corners = random_quads(rng, n, w, h)
    got, want = colour_steps(work, corners), _by_definition(work, corners)
    assert np.array_equal(got, want, equal_nan=True)
