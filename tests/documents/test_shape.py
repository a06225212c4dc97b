"""Quad geometry shared by the detector's stages (`detect.shape`): the compiled corner order
against its numpy definition."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.shape import F64, order_many


def _by_definition(quads: F64) -> F64:
    """Each quad's corners sorted by their angle about its centre, from the one with the least
    x + (1 - 1e-9) y."""
    centre = quads.sum(axis=1, keepdims=True) / 4
    angle = np.arctan2(quads[..., 1] - centre[..., 1], quads[..., 0] - centre[..., 0])
    rows = np.arange(len(quads))[:, None]
    clockwise = quads[rows, np.argsort(angle, axis=1, kind="stable")]
    start = np.argmin(clockwise[..., 0] + (1.0 - 1e-9) * clockwise[..., 1], axis=1)
    return np.asarray(clockwise[rows, (start[:, None] + np.arange(4)) % 4], np.float64)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), whole=st.booleans())
def test_corners_are_ordered_as_defined(seed: int, n: int, whole: bool) -> None:
    # Corners anywhere, in any order; with `whole`, on a grid of whole pixels, where squares
    # turned 45 degrees and repeated corners (ties) are common.
    rng = np.random.default_rng(seed)
    quads = (rng.integers(0, 6, (n, 4, 2)).astype(np.float64) if whole
             else rng.uniform(-50, 400, (n, 4, 2)))
    assert np.array_equal(order_many(quads), _by_definition(quads))


def test_a_card_is_ordered_clockwise_from_its_top_left() -> None:
    card = np.array([[[300.0, 50.0], [100.0, 60.0], [110.0, 180.0], [310.0, 170.0]]])
    assert order_many(card).tolist() == [[[100.0, 60.0], [300.0, 50.0], [310.0, 170.0],
                                          [110.0, 180.0]]]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 50))
def test_areas_are_the_shoelace_formula(seed: int, n: int) -> None:
    from booth_client.documents.detect.shape import NEXT, areas

    quads = np.random.default_rng(seed).normal(0, 300, (n, 3, 4, 2))
    x, y = quads[..., 0], quads[..., 1]
    want = 0.5 * np.abs((x * y[..., NEXT] - y * x[..., NEXT]).sum(axis=-1))
    assert np.array_equal(areas(quads), want)
    assert areas(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]])) == 12.0
