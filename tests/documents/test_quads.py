"""Quads' plausibility (`detect.quads.plausible_many`): the compiled loop against its numpy
definition."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.quads import plausible_many
from booth_client.documents.detect.shape import F64, NEXT, PREV, Mask, areas


def _by_definition(quads: F64, area_frame: float) -> Mask:
    """Convex, of 2-97 % of the frame's area, no corner sharper than 55 degrees, the mean
    lengths of opposite sides at most 2.6 to 1."""
    edge = quads[:, NEXT] - quads
    following = edge[:, NEXT]
    cross = edge[..., 0] * following[..., 1] - edge[..., 1] * following[..., 0]
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    area = areas(quads)
    sized = (area >= 0.02 * area_frame) & (area <= 0.97 * area_frame)
    length = np.hypot(edge[..., 0], edge[..., 1]) + 1e-9
    cos = -(edge * edge[:, PREV]).sum(axis=2) / (length * length[:, PREV])
    angled = np.all(np.abs(cos) <= np.cos(np.radians(55.0)), axis=1)
    across = (length[:, 0] + length[:, 2]) / 2
    down = (length[:, 1] + length[:, 3]) / 2
    aspect = np.maximum(across, down) / np.maximum(np.minimum(across, down), 1e-6)
    return np.asarray(convex & sized & angled & (aspect <= 2.6), np.bool_)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), spread=st.floats(1.0, 200.0))
def test_plausible_quads_are_as_defined(seed: int, n: int, spread: float) -> None:
    # Rectangles of any size and aspect, turned, in either winding, with their corners moved
    # by up to `spread` px: convex or not, sharp-cornered or not.
    rng = np.random.default_rng(seed)
    half = rng.uniform(5, 200, (n, 1, 2))
    box = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * half
    turn = rng.uniform(0, 2 * np.pi, (n, 1))
    c, s = np.cos(turn), np.sin(turn)
    quads = np.stack([c * box[..., 0] - s * box[..., 1], s * box[..., 0] + c * box[..., 1]],
                     axis=2) + rng.uniform(0, 320, (n, 1, 2))
    quads += rng.uniform(-1, 1, quads.shape) * rng.uniform(0, spread, (n, 1, 1))
    flip = rng.random(n) < 0.5
    quads[flip] = quads[flip][:, ::-1]
    got = plausible_many(quads, 320 * 180)
    assert np.array_equal(got, _by_definition(quads, 320 * 180))
    assert np.array_equal(plausible_many(quads, 320 * 180, areas(quads)), got)
