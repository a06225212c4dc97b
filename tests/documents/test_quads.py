"""Quads' plausibility (`detect.quads.plausible_many`), the support past their sides' ends
(`detect.profiles.support_past_ends`) and beyond a band (`detect.profiles.band_support`): the
compiled loops against their numpy definitions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.profiles import (
    Profiles,
    band_support,
    span_support,
    support_past_ends,
)
from booth_client.documents.detect.quads import crossed, pairs_of_pairs, plausible_many, side_ends
from booth_client.documents.detect.shape import F64, NEXT, PREV, Mask, areas

from .conftest import LineSearch
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


def _bands_by_definition(prof: Profiles, around: npt.NDArray[np.intp], crossed_: Mask,
                         reach: float, edge_run: float, onward_run: float,
                         excluded: Mask) -> F64:
    """`band_support` as `quads._band_lines` first wrote it, in numpy: each crossed side's
    lines (its own, its neighbours', its opposite's) once; the neighbours' edges running on
    past `reach` of their length (far: 1); else, of the lines both neighbours meet past the
    side within `reach`, not `excluded`, the best support between them (1 for one mostly
    outside the frame) where both neighbours' edges run on up to it."""
    band = np.ones(around.shape)
    q, j = np.nonzero(crossed_)
    if len(q) == 0:
        return band
    n_lines = len(prof.lines)
    code = around[q, j]
    for k in (PREV[j], NEXT[j], (j + 2) % 4):
        code = code * n_lines + around[q, k]
    codes, first, back = np.unique(code, return_index=True, return_inverse=True)
    qs, js = q[first], j[first]
    side, opposite = around[qs, js], around[qs, (js + 2) % 4]
    pair = np.stack([around[qs, PREV[js]], around[qs, NEXT[js]]])
    at_side = prof.station[pair, side]
    span = at_side - prof.station[pair, opposite]
    onward = span_support(prof, pair, at_side, at_side + reach * span)
    far = np.asarray((onward >= onward_run).all(axis=0), np.bool_)
    at_line = prof.station[pair]
    past = (at_line - at_side[..., None]) / np.where(np.abs(span) > 1e-9, span, 1e-9)[..., None]
    ok = (prof.meets[pair] & (past > 0.03) & (past < reach)).all(axis=0) & ~excluded
    r, line = np.nonzero(ok & ~far[:, None])
    found = np.zeros(len(codes))
    if len(r):
        run = span_support(prof, pair[:, r], at_side[:, r], at_line[:, r, line])
        good = ~(run < edge_run).any(axis=0)
        sup = span_support(prof, line, prof.station[line, pair[0, r]],
                           prof.station[line, pair[1, r]])
        np.maximum.at(found, r, np.where(good, np.where(np.isnan(sup), 1.0, sup), 0.0))
    band[q, j] = np.where(far, 1.0, found)[back.ravel()]
    return band


def _quads_of(search: LineSearch) -> tuple[npt.NDArray[np.intp], F64]:
    """The quads of a line search (their lines, Q x 4) and the support past their sides'
    ends (Q, 4, 2)."""
    prof, pairs, table, n_real, _ = search
    border = np.arange(len(prof.lines)) >= n_real
    around, _ = pairs_of_pairs(prof.lines, pairs, table, border)
    return around, support_past_ends(prof, around, *side_ends(prof, around))


def test_the_compiled_band_supports_are_their_definition(
        line_searches: list[LineSearch]) -> None:
    from booth_client.documents.detect import quads

    limits = (quads._BAND_REACH, quads._BAND_EDGE_RUN, quads._BAND_RUN)
    looked, seen = 0, 0
    for search in line_searches:
        prof = search[0]
        around, beyond = _quads_of(search)
        crossed_ = crossed(beyond) > quads._BAND_FLOOR
        # Some lines not looked for, as the completions' closing lines are not.
        excluded = np.arange(len(prof.lines)) % 7 == 3
        want = _bands_by_definition(prof, around, crossed_, *limits, excluded)
        assert np.array_equal(band_support(prof, around, crossed_, *limits, excluded), want)
        looked += int(crossed_.sum())
        seen += int(((want > 0) & (want < 1)).sum())
    # Many sides crossed, and a band's outer edge seen (in part) beyond some.
    assert looked >= 100 and seen >= 10


@settings(max_examples=25, deadline=None)
@given(which=st.integers(0, 5), floor=st.floats(0.0, 0.8), reach=st.floats(0.1, 1.5),
       edge_run=st.floats(0.0, 1.0), onward_run=st.floats(0.0, 1.0), every=st.integers(2, 9))
def test_the_compiled_band_supports_are_their_definition_for_other_limits(
        line_searches: list[LineSearch], which: int, floor: float, reach: float,
        edge_run: float, onward_run: float, every: int) -> None:
    search = line_searches[which]
    prof = search[0]
    around, beyond = _quads_of(search)
    crossed_ = crossed(beyond) > floor
    excluded = np.arange(len(prof.lines)) % every == 1
    assert np.array_equal(
        band_support(prof, around, crossed_, reach, edge_run, onward_run, excluded),
        _bands_by_definition(prof, around, crossed_, reach, edge_run, onward_run, excluded))


def _first_tests_by_definition(prof: Profiles, around: npt.NDArray[np.intp], border: Mask,
                               support: F64, h: int, w: int, dark: bool = False) -> Mask:
    """`quads._first_tests` in numpy: at least three sides seen, each supported 0.55 and 0.6
    on average, or two seen supported 0.8 each (0.85 in a `dark` frame) and two on the
    border; at most two sides on the border; every corner where its lines meet, within 1.5
    times the frame's long side of its centre each way."""
    seen = ~np.isnan(support)
    n_seen = seen.sum(axis=1)
    filled = np.where(seen, support, 0.0)
    on_border = border[around]
    good = (filled >= 0.55).sum(axis=1)
    confidence = filled.sum(axis=1) / np.maximum(n_seen, 1)
    strongly = 0.85 if dark else 0.8
    two = (n_seen == 2) & ((filled >= strongly).sum(axis=1) == 2) & (on_border.sum(axis=1) == 2)
    enough = ((n_seen >= 3) & (good >= 3) & (confidence >= 0.6)) | two
    near = prof.meets & (np.abs(prof.meet - np.array([w / 2, h / 2])).max(axis=2)
                         <= 1.5 * max(w, h))
    return np.asarray(enough & (on_border.sum(axis=1) <= 2)
                      & near[around[:, PREV], around].all(axis=1), np.bool_)


@settings(max_examples=20, deadline=None)
@given(which=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_the_compiled_first_tests_are_their_definition(line_searches: list[LineSearch],
                                                        which: int, seed: int) -> None:
    from booth_client.documents.detect.quads import _first_tests

    prof, pairs, table, n_real, (h, w) = line_searches[which]
    border = np.arange(len(prof.lines)) >= n_real
    around, bounds = pairs_of_pairs(prof.lines, pairs, table, border)
    # The line search's quads with their sides' support, and the same quads with supports at
    # random, some sides unseen (NaN).
    rng = np.random.default_rng(seed)
    noisy = rng.uniform(0.3, 1.0, around.shape)
    noisy[rng.random(around.shape) < 0.3] = np.nan
    for support in (table[around, bounds], noisy):
        for dark in (False, True):
            got = _first_tests(prof, around, border, support, h, w, dark)
            assert np.array_equal(got, _first_tests_by_definition(prof, around, border,
                                                                  support, h, w, dark))
    assert got.any() and not got.all()


def _pairs_of_pairs_by_definition(lines: F64, pairs: npt.NDArray[np.intp], table: F64,
                                  border: Mask) -> tuple[npt.NDArray[np.intp], ...]:
    """`pairs_of_pairs` in numpy: per two pairs a < b (in the order np.nonzero gives), enough
    where three of their four lines are supported (0.55) between the other pair, or both
    pairs hold a border line and the others are supported, or one pair is two border lines
    and the other's two are supported; the four lines distinct and the pairs 40 degrees
    apart or more."""
    good = table >= 0.55
    held = good[pairs[:, 0]].astype(np.int8) + good[pairs[:, 1]]
    enough = held + held.T >= 3
    on_border = border[pairs].any(axis=1)
    held_b = held + on_border[:, None].astype(np.int8)
    enough |= (held_b + held_b.T == 4) & on_border[:, None] & on_border[None, :]
    edges = border[pairs].all(axis=1)
    enough |= (edges[:, None] & (held.T == 2)) | (edges[None, :] & (held == 2))
    a, b = np.nonzero(enough)
    upper = a < b
    a, b = a[upper], b[upper]
    l1, l2, l3, l4 = pairs[a, 0], pairs[a, 1], pairs[b, 0], pairs[b, 1]
    angle = np.arctan2(lines[:, 1], lines[:, 0]) % np.pi
    cross = np.abs(angle[l1] - angle[l3])
    cross = np.minimum(cross, np.pi - cross)
    distinct = (l1 != l3) & (l1 != l4) & (l2 != l3) & (l2 != l4) & (cross > np.radians(40.0))
    a, b = a[distinct], b[distinct]
    around = np.stack([l1[distinct], l3[distinct], l2[distinct], l4[distinct]], axis=1)
    return around, np.stack([b, a, b, a], axis=1)


@settings(max_examples=25, deadline=None)
@given(which=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_pairs_of_pairs_are_as_defined(line_searches: list[LineSearch], which: int,
                                       seed: int) -> None:
    prof, pairs, table, n_real, _ = line_searches[which]
    # The line search's supports and its frame border, then supports at random (some NaN)
    # with other lines taken for border lines too.
    rng = np.random.default_rng(seed)
    noisy = rng.uniform(0.2, 1.0, table.shape)
    noisy[rng.random(table.shape) < 0.2] = np.nan
    for support, border in ((table, np.arange(len(prof.lines)) >= n_real),
                            (noisy, rng.random(len(prof.lines)) < 0.2)):
        got = pairs_of_pairs(prof.lines, pairs, support, border)
        want = _pairs_of_pairs_by_definition(prof.lines, pairs, support, border)
        assert all(np.array_equal(g, x) and g.shape == x.shape
                   for g, x in zip(got, want, strict=True))
    assert len(got[0]) > 0
