"""The edge profiles along lines (`detect.profiles`): the compiled sampling against its
definition written out with numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.candidates import frame_border
from booth_client.documents.detect.edges import Work, prepare
from booth_client.documents.detect.profiles import STEP, profile_parts, profiles
from booth_client.documents.synthetic import make_scene

from .random_lines import random_lines, random_profiles


def _by_definition(work: Work, lines: npt.NDArray[np.float64], n_real: int) -> tuple[
        npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """`Profiles.hits` and `Profiles.valid`, sampled with numpy: at each station of each real
    line, at the nearest pixel on it and 1 px either side, whether each channel's gradient
    crosses the line either way (its component across the line above the channel's strength
    and above 0.6 of its L1 norm), and whether the pixel on the line is inside the frame."""
    h, w = work.gray.shape
    origin, direction, reach, _, _ = profile_parts(work, lines, n_real)
    n = lines[:n_real, :2]
    t = np.arange(-reach, reach + 0.5, STEP)
    offs = np.array([-1.0, 0.0, 1.0])[:, None, None]
    px = origin[:n_real, 0, None] + t[None, :] * direction[:n_real, 0, None]
    py = origin[:n_real, 1, None] + t[None, :] * direction[:n_real, 1, None]
    xi = np.rint(px[None] + offs * n[None, :, 0, None]).astype(np.intp)
    yi = np.rint(py[None] + offs * n[None, :, 1, None]).astype(np.intp)
    inside = (xi >= 1) & (xi < w - 1) & (yi >= 1) & (yi < h - 1)
    flat = yi * w + xi
    nx, ny = n[:, 0, None].astype(np.float32), n[:, 1, None].astype(np.float32)
    maps = []
    for (gxc, gyc), strength in zip(work.gradients, work.strengths, strict=True):
        gx, gy = gxc.ravel().take(flat, mode="clip"), gyc.ravel().take(flat, mode="clip")
        proj = (gx * nx + gy * ny) * inside
        least = np.maximum(np.float32(0.6) * (np.abs(gx) + np.abs(gy)), np.float32(strength))
        for hit in (proj > least, proj < -least):
            maps.append(hit.any(axis=0))
    hits = np.zeros((4, len(lines), len(t) + 1), np.int32)
    hits[:, :n_real, 1:] = np.cumsum(np.stack(maps), axis=2)
    valid = np.zeros((len(lines), len(t) + 1), np.int32)
    valid[:n_real, 1:] = np.cumsum(inside[1], axis=1)
    return hits, valid


@pytest.fixture(scope="module")
def works() -> list[Work]:
    """Working frames of a few scenes, landscape and portrait."""
    return [prepare(make_scene(seed, width, height).image)
            for seed, width, height in ((3, 1280, 720), (11, 1280, 720), (5, 720, 1280))]


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), n_lines=st.integers(1, 12),
       n_border=st.integers(0, 4))
def test_profiles_are_sampled_as_defined(works: list[Work], which: int, seed: int,
                                         n_lines: int, n_border: int) -> None:
    work = works[which]
    h, w = work.gray.shape
    rng = np.random.default_rng(seed)
    # Lines through points anywhere around the frame (some miss it); the last `n_border` are
    # not sampled, as the frame's border lines are not.
    lines = random_lines(rng, n_lines + n_border, w, h, beyond=0.2)
    _, _, _, hits, valid = profile_parts(work, lines, n_lines)
    want_hits, want_valid = _by_definition(work, lines, n_lines)
    assert np.array_equal(hits, want_hits)
    assert np.array_equal(valid, want_valid)


def test_a_card_side_is_crossed_along_its_length() -> None:
    # A drawn card's top side, along the line through it: edges cross it at nearly every
    # station inside the card's span and seldom beyond it on a plain ground.
    import cv2

    image = np.full((180, 320, 3), 200, np.uint8)
    cv2.rectangle(image, (100, 60), (220, 140), (40, 60, 90), -1)
    work = prepare(image)
    top = np.array([[0.0, 1.0, -59.5]])
    origin, direction, reach, hits, valid = profile_parts(work, top, 1)
    per_station = np.diff(hits, axis=2).max(axis=0)[0] > 0
    x = origin[0, 0] + (np.arange(per_station.size) * STEP - reach) * direction[0, 0]
    on_card = (x > 104) & (x < 216)
    assert per_station[on_card].mean() > 0.9
    assert per_station[~on_card & (x > 2) & (x < 317)].mean() < 0.1
    assert valid[0, -1] == ((x >= 1) & (x < 319)).sum()


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50))
def test_span_support_is_as_defined(works: list[Work], which: int, seed: int, n: int) -> None:
    from booth_client.documents.detect.profiles import span_support

    work = works[which]
    rng = np.random.default_rng(seed)
    prof = random_profiles(work, rng, 8)
    # Stretches of any length either way, some running off the profile's ends, broadcast
    # (n, 2) against lines (n, 1).
    n_t = prof.valid.shape[1] - 1
    line = rng.integers(0, 8, (n, 1))
    start = rng.uniform(-20, n_t + 20, (n, 2))
    end = start + rng.uniform(-n_t, n_t, (n, 2))
    # By definition: the share of stations (less 8 % at each end) where the map crossing most
    # often crosses, of those in the frame; NaN where fewer than 0.3 of them are.
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    trim = 0.08 * (hi - lo)
    ia = np.clip(np.rint(lo + trim), 0, n_t).astype(np.intp)
    ib = np.clip(np.rint(hi - trim), 0, n_t).astype(np.intp)
    hits = (prof.hits[:, line, ib] - prof.hits[:, line, ia]).max(axis=0)
    seen = prof.valid[line, ib] - prof.valid[line, ia]
    want = np.where(seen >= 0.3 * np.maximum(ib - ia, 1), hits / np.maximum(seen, 1.0), np.nan)
    assert np.array_equal(span_support(prof, line, start, end), want, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1), n_lines=st.integers(1, 30),
       n_parallel=st.integers(0, 4))
def test_where_lines_meet_is_as_defined(works: list[Work], which: int, seed: int,
                                        n_lines: int, n_parallel: int) -> None:
    work = works[which]
    h, w = work.gray.shape
    rng = np.random.default_rng(seed)
    # Lines at random, some of them the first ones again shifted (parallel: they never meet),
    # and the frame's border lines.
    lines = random_lines(rng, n_lines, w, h, beyond=0.2)
    shifted = lines[:n_parallel].copy()
    shifted[:, 2] += rng.uniform(-50, 50, len(shifted))
    lines = np.concatenate([lines, shifted, frame_border(h, w)])
    prof = profiles(work, lines, n_lines + len(shifted))
    # By definition: where line i meets line j, the cross product of the two in homogeneous
    # coordinates (its x and y as they are where the lines are parallel, |z| <= 1e-9), and the
    # station of that point along line i.
    p, q = lines[:, None, :], lines[None, :, :]
    x = p[..., 1] * q[..., 2] - p[..., 2] * q[..., 1]
    y = p[..., 2] * q[..., 0] - p[..., 0] * q[..., 2]
    z = p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]
    meets = np.abs(z) > 1e-9
    zs = np.where(meets, z, 1.0)
    meet = np.stack([x / zs, y / zs], axis=2)
    along = ((meet - prof.origin[:, None, :]) * prof.direction[:, None, :]).sum(axis=2)
    assert np.array_equal(prof.meets, meets)
    assert np.array_equal(prof.meet, meet)
    assert np.array_equal(prof.station, (along + prof.reach) / STEP)
