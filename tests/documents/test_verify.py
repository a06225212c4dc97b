"""The support of quads' sides in the final checks (`detect.verify._support`): the compiled
loop against its definition written out with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.edges import PORTRAIT_LONG_SIDE, Work, prepare
from booth_client.documents.detect.shape import F64, NEXT, stacked, stations
from booth_client.documents.detect.verify import _support
from booth_client.documents.synthetic import make_scene

from .random_lines import random_quads


def _by_definition(work: Work, quads: F64, band: tuple[float, ...], samples: int) -> F64:
    """Per quad and side: of the stations from 8 % to 92 % of it inside the frame, the share
    where at one of the pixels nearest the offsets `band` along its normal the grey or the
    saturation gradient crosses it (across it above the channel's strength and above 0.6 of
    its L1 norm), of one polarity (the larger share, of the channel with the larger); NaN
    where fewer than 0.3 of the stations are inside. In float32, as the gradients are."""
    h, w = work.gray.shape
    n = len(quads)
    t = stations(0.08, 0.92, samples)
    d = quads[:, NEXT] - quads
    length = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-6)
    normal = stacked(d[..., 1], -d[..., 0]) / length[..., None]
    pts = quads[:, :, None, :] + t[None, None, :, None] * d[:, :, None, :]
    inside = (pts[..., 0] >= 1) & (pts[..., 0] < w - 2) & (pts[..., 1] >= 1) & (
        pts[..., 1] < h - 2)
    offs = np.asarray(band)
    probe = pts[:, :, :, None, :] + offs[None, None, None, :, None] * normal[:, :, None, None, :]
    xi = np.minimum(np.maximum(np.rint(probe[..., 0]).astype(np.intp), 0), w - 1)
    yi = np.minimum(np.maximum(np.rint(probe[..., 1]).astype(np.intp), 0), h - 1)
    flat = yi * w + xi
    nx = normal[:, :, None, None, 0].astype(np.float32)
    ny = normal[:, :, None, None, 1].astype(np.float32)
    inside_count = inside.sum(axis=2)
    support = np.zeros((n, 4))
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat), gyc.ravel().take(flat)
        proj = gx * nx + gy * ny
        across = np.abs(proj) > 0.6 * (np.abs(gx) + np.abs(gy))
        pos = ((proj > strength) & across).any(axis=3) & inside
        neg = ((proj < -strength) & across).any(axis=3) & inside
        share = np.maximum(pos.sum(axis=2), neg.sum(axis=2)) / np.maximum(inside_count, 1)
        support = np.maximum(support, share)
    support[inside_count < samples * 0.3] = np.nan
    return support


@pytest.fixture(scope="module")
def works() -> list[tuple[Work, F64]]:
    """Working frames of a few scenes, landscape and portrait, with the document's corners in
    each."""
    out = []
    for seed, width, height in ((2, 1280, 720), (103, 1280, 720), (4, 720, 1280)):
        scene = make_scene(seed, width, height)
        assert scene.quad is not None
        work = (prepare(scene.image, PORTRAIT_LONG_SIDE) if height > width
                else prepare(scene.image))
        out.append((work, (np.asarray(scene.quad, np.float64) + 0.5) / work.factor - 0.5))
    return out


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8),
       samples=st.sampled_from([16, 24, 32]), wide=st.booleans())
def test_side_support_is_as_defined(works: list[tuple[Work, F64]], which: int, seed: int,
                                    n: int, samples: int, wide: bool) -> None:
    work, document = works[which]
    h, w = work.gray.shape
    # Quads of any size and turn, some reaching out of the frame, some wholly outside it, and
    # the scene's document itself moved a little.
    rng = np.random.default_rng(seed)
    quads = random_quads(rng, n, w, h)
    quads = np.concatenate([quads, document + rng.uniform(-2, 2, (n, 4, 2))])
    band = (-2.0, -1.0, 0.0, 1.0, 2.0) if wide else (-1.0, 0.0, 1.0)
    got, want = _support(work, quads, band, samples), _by_definition(work, quads, band, samples)
    assert np.array_equal(got, want, equal_nan=True)


def test_a_side_under_a_band_is_run_on_past() -> None:
    """`run_on_past`: the card's sides run on past the line under its band (to its outline),
    not past its outline."""
    from booth_client.documents.detect.verify import run_on_past

    frame = np.full((180, 320, 3), 90, np.uint8)
    frame[40:141, 80:241] = 235
    frame[40:61, 80:241] = (40, 150, 40)
    work = prepare(frame)
    card = np.array([[80.0, 40.0], [240.0, 40.0], [240.0, 140.0], [80.0, 140.0]]) - 0.5
    below_band = np.array([[80.0, 60.5], [240.0, 60.5], [240.0, 140.0], [80.0, 140.0]]) - 0.5
    assert work.factor == 1.0
    assert run_on_past(work, below_band)[0] >= 0.8
    assert run_on_past(work, card).max() <= 0.1
    # (The band's other sides: the card's bottom runs on past neither end.)
    assert run_on_past(work, below_band)[[1, 2, 3]].max() <= 0.1


def test_a_card_s_sides_run_on_across_its_edge_stripe() -> None:
    """`stretch_hits`: a card's sides cross their lines along the stripe at its edge (the
    card's outline beyond the line between stripe and field), not along a strip of the ground
    beside the card."""
    from booth_client.documents.detect.verify import stretch_hits

    frame = np.full((180, 320, 3), 90, np.uint8)
    frame[40:141, 80:241] = 235
    frame[135:141, 80:241] = (40, 150, 40)
    work = prepare(frame)
    assert work.factor == 1.0
    # The stretches of the card's left and right sides from the line above the stripe (y 135)
    # to the card's bottom (y 141), and on from there into the ground below (to y 147).
    field = np.array([[79.5, 134.5], [240.5, 134.5]])
    bottom = np.array([[79.5, 140.5], [240.5, 140.5]])
    below = np.array([[79.5, 146.5], [240.5, 146.5]])
    assert stretch_hits(work, field, bottom).min() >= 0.8
    assert stretch_hits(work, bottom, below).max() <= 0.2
