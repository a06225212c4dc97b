"""The U's that `detect.completion.completions` closes, up to their closing line
(`completion._closed_us`): the compiled loop against its definition written out with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect import completion
from booth_client.documents.detect.completion import RUN_GAP, run_stops
from booth_client.documents.detect.profiles import STEP, Profiles
from booth_client.documents.detect.shape import F64, in_frame

from .conftest import LineSearch

Ints = npt.NDArray[np.intp]


def _arms_match(arm_a: Ints, arm_c: Ints, base_len: F64, least: float, ratio: float) -> Any:
    short = np.minimum(arm_a, arm_c)
    return (short >= least * base_len) & (np.maximum(arm_a, arm_c)
                                          <= ratio * np.maximum(short, 1e-9))


def _run_ends(prof: Profiles, line: Ints, start: Ints, way: Any, kind: int | Ints,
              gap: int) -> Ints:
    stops = run_stops(prof, line, start.astype(np.float64), np.where(way, 1.0, -1.0),
                      np.full(len(line), float(prof.hits.shape[2])), kind, gap)
    return np.asarray(stops, np.intp)


def _kind_counts(prof: Profiles, line: Ints, start: Ints, stop: Ints) -> Ints:
    lo, hi = np.minimum(start, stop), np.maximum(start, stop)
    return np.asarray(prof.hits[:, line, hi + 1] - prof.hits[:, line, lo], np.intp)


def _by_kind(prof: Profiles, line: Ints, corner: Ints, way: Any, least: Ints, end: Ints,
             gap: int) -> Ints:
    n_t = prof.hits.shape[2] - 1
    first = np.minimum(np.maximum(corner + np.where(way, least, -least), 0), n_t - 1)
    kind = np.stack([np.argmax(_kind_counts(prof, line, corner, end), axis=0),
                     np.argmax(_kind_counts(prof, line, corner, first), axis=0)])
    return _run_ends(prof, np.tile(line, 2), np.tile(corner, 2), np.tile(way, 2),
                     kind.ravel(), gap).reshape(2, -1)


def _by_definition(prof: Profiles, pairs: Ints, table: F64, n_real: int, size: tuple[int, int],
                   limits: F64, gap: int, finger_gap: int) -> tuple[Any, ...]:
    """`_closed_us` as the U's were first written (`limits` as it takes them): the U's of a
    base supported between a pair of real lines meeting it steeply, followed both ways; arms
    that do not match followed again over `finger_gap`; those whose arms both run far enough,
    and, for those ending inside the frame on a well-supported base, the U's closed where the
    runs of one kind of edge end; of all, those whose arms match and end inside the frame."""
    least_base, corner_sin, least_arm, ratio, by_kind_base, margin, distinct, _ = limits
    empty = np.zeros(0, np.intp)
    real = (pairs < n_real).all(axis=1)
    pairs, table = pairs[real], table[:n_real][:, real]
    base, p = np.nonzero(table >= least_base)
    a, c = pairs[p, 0], pairs[p, 1]
    nb = prof.lines[base, :2]
    da, dc = prof.direction[a], prof.direction[c]
    along_a = nb[:, 0] * da[:, 0] + nb[:, 1] * da[:, 1]
    along_c = nb[:, 0] * dc[:, 0] + nb[:, 1] * dc[:, 1]
    steep = ((np.abs(along_a) >= corner_sin) & (np.abs(along_c) >= corner_sin)
             & (base != a) & (base != c))
    k = np.flatnonzero(steep)
    if len(k) == 0:
        return (empty, empty, empty, np.zeros(0), np.zeros((0, 2)), np.zeros((0, 2)),
                np.zeros(0, np.bool_))
    k = np.concatenate([k, k])
    side = np.repeat([1.0, -1.0], len(k) // 2)
    base, a, c, held = base[k], a[k], c[k], table[base[k], p[k]]
    n_t = prof.hits.shape[2] - 1
    corner_a = np.minimum(np.maximum(np.rint(prof.station[a, base]), 0), n_t - 1).astype(np.intp)
    corner_c = np.minimum(np.maximum(np.rint(prof.station[c, base]), 0), n_t - 1).astype(np.intp)
    way_a, way_c = along_a[k] * side > 0, along_c[k] * side > 0
    end_a, end_c = _run_ends(prof, np.concatenate([a, c]), np.concatenate([corner_a, corner_c]),
                             np.concatenate([way_a, way_c]), -1, gap).reshape(2, -1)
    arm_a, arm_c = np.abs(end_a - corner_a), np.abs(end_c - corner_c)
    base_len = np.abs(prof.station[base, a] - prof.station[base, c])
    cut = np.flatnonzero((np.maximum(arm_a, arm_c) >= least_arm * base_len)
                         & ~_arms_match(arm_a, arm_c, base_len, least_arm, ratio))
    if len(cut):
        on_a = arm_a[cut] < arm_c[cut]
        arm = np.where(on_a, a[cut], c[cut])
        far = _run_ends(prof, arm, np.where(on_a, corner_a[cut], corner_c[cut]),
                        np.where(on_a, way_a[cut], way_c[cut]), -1, finger_gap)
        end_a[cut] = np.where(on_a, far, end_a[cut])
        end_c[cut] = np.where(on_a, end_c[cut], far)
    k = np.flatnonzero(np.minimum(np.abs(end_a - corner_a), np.abs(end_c - corner_c))
                       >= least_arm * base_len)
    base, a, c, held, base_len = base[k], a[k], c[k], held[k], base_len[k]
    corner_a, corner_c, way_a, way_c = corner_a[k], corner_c[k], way_a[k], way_c[k]
    end_a, end_c = end_a[k], end_c[k]
    pa, pc = prof.point_at(a, end_a), prof.point_at(c, end_c)
    h, w = size
    inside = in_frame(pa, w, h, margin) & in_frame(pc, w, h, margin)
    e = np.flatnonzero(inside & (held >= by_kind_base))
    by_kind = np.zeros(len(base), np.bool_)
    if len(e):
        arms = np.concatenate([a[e], c[e]])
        corner = np.concatenate([corner_a[e], corner_c[e]])
        way = np.concatenate([way_a[e], way_c[e]])
        end = np.concatenate([end_a[e], end_c[e]])
        kind_ends = _by_kind(prof, arms, corner, way,
                             np.ceil(least_arm * np.tile(base_len[e], 2)).astype(np.intp), end,
                             gap)
        n_e = len(e)
        moved = np.abs(kind_ends - end[None]) * STEP > distinct
        moved = moved[:, :n_e] | moved[:, n_e:]
        alike = kind_ends[0] == kind_ends[1]
        moved[1] &= ~(alike[:n_e] & alike[n_e:])
        variant, u = np.nonzero(moved)
        more = e[u]
        end_a_more, end_c_more = kind_ends[variant, u], kind_ends[variant, n_e + u]
        pa_more = prof.point_at(a[more], end_a_more)
        pc_more = prof.point_at(c[more], end_c_more)
        inside = np.concatenate([inside, in_frame(pa_more, w, h, margin)
                                 & in_frame(pc_more, w, h, margin)])
        pa, pc = np.concatenate([pa, pa_more]), np.concatenate([pc, pc_more])
        end_a, end_c = np.concatenate([end_a, end_a_more]), np.concatenate([end_c, end_c_more])
        base, a, c, held, corner_a, corner_c, base_len = (
            np.concatenate([v, v[more]])
            for v in (base, a, c, held, corner_a, corner_c, base_len))
        by_kind = np.concatenate([by_kind, np.ones(len(more), np.bool_)])
    ok = _arms_match(np.abs(end_a - corner_a), np.abs(end_c - corner_c), base_len, least_arm,
                     ratio) & inside
    k = np.flatnonzero(ok)
    return base[k], a[k], c[k], held[k], pa[k], pc[k], by_kind[k]


def _limits(by_kind_base: float = completion._BY_KIND_BASE,
            least_arm: float = completion._MIN_ARM) -> F64:
    return np.array([completion._MIN_BASE_SUPPORT, completion._MIN_CORNER_SIN, least_arm,
                     completion._MAX_ARM_RATIO, by_kind_base, completion._EDGE_MARGIN,
                     completion._DISTINCT, STEP])


def _compiled(search: LineSearch, limits: F64, gap: int, finger_gap: int) -> tuple[Any, ...]:
    prof, pairs, table, n_real, (h, w) = search
    return completion._closed_us(table, pairs.astype(np.int64), prof.lines, prof.origin,
                                 prof.direction, prof.station, prof.hits, prof.reach, n_real,
                                 h, w, limits, gap, finger_gap)


def _same(got: tuple[Any, ...], want: tuple[Any, ...]) -> bool:
    return all(np.array_equal(np.asarray(g), np.asarray(x)) and np.asarray(g).shape
               == np.asarray(x).shape for g, x in zip(got, want, strict=True))


def test_the_compiled_us_are_their_definition(line_searches: list[LineSearch]) -> None:
    limits = _limits()
    found, by_kind = 0, 0
    for search in line_searches:
        want = _by_definition(*search, limits, RUN_GAP, completion._FINGER_GAP)
        assert _same(_compiled(search, limits, RUN_GAP, completion._FINGER_GAP), want)
        found += len(want[0])
        by_kind += int(want[-1].sum())
    # The scenes hold U's of both kinds.
    assert found >= 20 and by_kind >= 2


@settings(max_examples=25, deadline=None)
@given(which=st.integers(0, 5), by_kind_base=st.floats(0.5, 1.0), least_arm=st.floats(0.1, 0.6),
       gap=st.integers(0, 5), wider=st.integers(0, 8))
def test_the_compiled_us_are_their_definition_for_other_limits(
        line_searches: list[LineSearch], which: int, by_kind_base: float, least_arm: float,
        gap: int, wider: int) -> None:
    limits = _limits(by_kind_base, least_arm)
    search = line_searches[which]
    assert _same(_compiled(search, limits, gap, gap + wider),
                 _by_definition(*search, limits, gap, gap + wider))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30), most=st.integers(1, 8),
       apart=st.floats(0.5, 6.0))
def test_the_compiled_distinct_picks_are_their_definition(seed: int, n: int, most: int,
                                                          apart: float) -> None:
    # Quads near one another (near copies among them), in an order of value.
    rng = np.random.default_rng(seed)
    quads = rng.normal(0.0, 4.0, (n, 4, 2)) + rng.integers(0, 3, (n, 1, 1)) * 20.0
    order = rng.permutation(n).astype(np.int64)
    pick: list[int] = []
    for i in order.tolist():
        if all(np.abs(quads[i] - quads[j]).max() > apart for j in pick):
            pick.append(i)
            if len(pick) == most:
                break
    assert completion._distinct(quads, order, most, apart).tolist() == pick
