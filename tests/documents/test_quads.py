"""Quads' plausibility (`detect.quads.plausible_many`) and the support past their sides' ends
(`detect.profiles.support_past_ends`): the compiled loops against their numpy definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.quads import plausible_many
from booth_client.documents.detect.shape import F64, NEXT, PREV, Mask, areas

from .random_lines import random_profiles


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


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40))
def test_support_past_the_ends_of_sides_is_as_defined(seed: int, n: int) -> None:
    from booth_client.documents.detect.edges import prepare
    from booth_client.documents.detect.profiles import STEP, support_past_ends
    from booth_client.documents.synthetic import make_scene

    work = prepare(make_scene(seed % 50, 1280, 720).image)
    rng = np.random.default_rng(seed)
    prof = random_profiles(work, rng, 6)
    n_t = prof.valid.shape[1] - 1
    around = rng.integers(0, 6, (n, 4))
    first = rng.uniform(-10, n_t + 10, (n, 4))
    second = first + rng.uniform(-60, 60, (n, 4))
    # By definition: past each end of each side, from 2 px beyond it over 15 % of the side
    # (at least 4 px), the share of stations where the map crossing most often crosses, of
    # those in the frame; 0 where fewer than half of them are.
    span, sign = np.abs(second - first), np.where(second >= first, 1.0, -1.0)
    ext, gap = np.maximum(4.0 / STEP, 0.15 * span), 2.0 / STEP
    want = []
    for anchor, way in ((first, -sign), (second, sign)):
        p, q = anchor + way * gap, anchor + way * (gap + ext)
        lo = np.clip(np.rint(np.minimum(p, q)), 0, n_t).astype(np.intp)
        hi = np.clip(np.rint(np.maximum(p, q)), 0, n_t).astype(np.intp)
        got = (prof.hits[:, around, hi] - prof.hits[:, around, lo]).max(axis=0)
        seen = prof.valid[around, hi] - prof.valid[around, lo]
        want.append(np.where(seen >= 0.5 * np.maximum(hi - lo, 1), got / np.maximum(seen, 1),
                             0.0))
    assert np.array_equal(support_past_ends(prof, around, first, second),
                          np.stack(want, axis=2))
