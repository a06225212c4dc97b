"""Segments grouped into lines (`detect.lines`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from booth_client.documents.backdrops import real_photographs
from booth_client.documents.detect import lines as lines_module
from booth_client.documents.detect.edges import FINE_LONG_SIDE, PORTRAIT_LONG_SIDE, prepare
from booth_client.documents.detect.lines import (
    _CORNER_SIN,
    _DIRECTION_BINS,
    _EXTRA_LINES,
    _MAX_PER_DIRECTION,
    _MAX_SAGITTA,
    _MAX_SEGMENTS,
    _SAGITTA_SLOPE,
    _SAME_LINE_COS,
    _THIN_BASE,
    _THIN_SLOPE,
    _closing_both_ends,
    _lines_of_runs,
    _on_one_line,
    runs_of,
)
from booth_client.documents.detect.runs import COUNT, FIRST, SECOND, THIRD
from booth_client.documents.detect.shape import F64, stacked
from booth_client.documents.synthetic import make_scene


def sagitta(third: F64, second: tuple[F64, F64, F64], centre: tuple[F64, F64], phi: F64,
            length: F64) -> F64:
    """How far runs bow away from their chord, in px (the definition of the test in
    `lines._lines_of_runs`): the quadratic term of each run across its principal axis, from
    its third moments. `third` (4, R) are the runs' raw means of x^3, y^3, x^2 y and x y^2;
    `second` (the raw means of x^2, y^2 and xy), `centre`, `phi` (the direction of the
    principal axis) and `length` are each run's."""
    exx, eyy, exy = second
    cx, cy = centre
    # Central third moments, from the raw ones about the centroid (cx, cy).
    m30 = third[0] - 3 * cx * exx + 2 * cx ** 3
    m03 = third[1] - 3 * cy * eyy + 2 * cy ** 3
    m21 = third[2] - 2 * cx * exy - cy * exx + 2 * cx * cx * cy
    m12 = third[3] - 2 * cy * exy - cx * eyy + 2 * cx * cy * cy
    c, s = np.cos(phi), np.sin(phi)
    # E[v u^2] with u along the run and v across it.
    vuu = (-m30 * c * c * s + m21 * (c ** 3 - 2 * c * s * s) + m12 * (2 * c * c * s - s ** 3)
           + m03 * s * s * c)
    # v = k (u^2 - E[u^2]) over u spread evenly along the length L: k = E[v u^2] / (L^4 / 180),
    # and the bow at the middle is k L^2 / 4.
    return np.asarray(45.0 * vuu / np.maximum(length, 1e-9) ** 2, np.float64)


def _cornered(lead: npt.NDArray[np.intp], group: npt.NDArray[np.intp], ends: F64, dx: F64,
              dy: F64, weights: F64, chosen: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Groups of segments (not in `chosen`) whose line meets other lines at both of its ends,
    the longest `_EXTRA_LINES` of them."""
    if len(lead) < 3:
        return np.zeros(0, np.intp)
    both = _closing_both_ends(lead.astype(np.int64), group.astype(np.int64), ends, dx, dy,
                              _CORNER_SIN)
    both[chosen] = False
    extra = np.flatnonzero(both)
    return extra[np.argsort(-weights[extra], kind="stable")][:_EXTRA_LINES]


def lines_by_definition(moments: F64, min_len: float, max_lines: int) -> F64:
    """`lines._lines_of_runs` in numpy, its definition (as `segment_lines` was written before
    it was compiled)."""
    m = moments[:, COUNT]
    sx, sy = moments[:, FIRST].T
    sxx, syy, sxy = moments[:, SECOND].T
    cx, cy = sx / m, sy / m
    vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
    half = np.sqrt(np.maximum((vxx - vyy) ** 2 / 4 + vxy * vxy, 0.0))
    major = (vxx + vyy) / 2 + half
    minor = np.maximum((vxx + vyy) / 2 - half, 0.0)
    phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
    length = np.sqrt(12.0 * major)
    straight = (length >= min_len) & (np.sqrt(minor) <= _THIN_BASE + _THIN_SLOPE * length)
    if straight.any():
        length_s, n = length[straight], m[straight]
        bow = sagitta(moments[straight, THIRD].T / n,
                      (sxx[straight] / n, syy[straight] / n, sxy[straight] / n),
                      (cx[straight], cy[straight]), phi[straight], length_s)
        straight[straight] = np.abs(bow) <= _MAX_SAGITTA + _SAGITTA_SLOPE * length_s
    if not straight.any():
        return np.zeros((0, 3))
    seg = stacked(cx, cy, np.cos(phi), np.sin(phi), length, m, sx, sy, sxx, syy, sxy)[straight]
    seg = seg[np.argsort(-seg[:, 4], kind="stable")][:_MAX_SEGMENTS]
    cx, cy, dx, dy, length = seg[:, :5].T
    nx, ny = dy, -dx
    c = -(nx * cx + ny * cy)
    ends = np.empty((2, len(seg), 2))
    ends[0, :, 0], ends[0, :, 1] = cx - dx * length / 2, cy - dy * length / 2
    ends[1, :, 0], ends[1, :, 1] = cx + dx * length / 2, cy + dy * length / 2
    leads, group = _on_one_line(nx, ny, c, ends, _SAME_LINE_COS)
    weights = np.bincount(group, length, len(leads)).astype(np.float64)
    order = np.argsort(-weights, kind="stable")
    lead = leads[order]
    direction = (np.arctan2(dy[lead], dx[lead]) % np.pi) // (np.pi / _DIRECTION_BINS)
    same_bin = direction[:, None] == np.arange(_DIRECTION_BINS)[None, :]
    rank = (np.cumsum(same_bin, axis=0) * same_bin).sum(axis=1) - 1
    order = order[rank < _MAX_PER_DIRECTION][:max_lines]
    extra = _cornered(leads, group, ends, dx, dy, weights, order)
    order = np.concatenate([order, extra]).astype(np.intp)
    sums = stacked(*(np.bincount(group, seg[:, k], len(leads)) for k in range(5, 11)))[
        order].T.astype(np.float64)
    m, sx, sy, sxx, syy, sxy = sums
    cx, cy = sx / m, sy / m
    vxx, vyy, vxy = sxx / m - cx * cx, syy / m - cy * cy, sxy / m - cx * cy
    phi = 0.5 * np.arctan2(2 * vxy, vxx - vyy)
    nx, ny = np.sin(phi), -np.cos(phi)
    return stacked(nx, ny, -(nx * cx + ny * cy))


@pytest.fixture(scope="module")
def runs() -> list[tuple[F64, float, int]]:
    """The runs of working frames (`runs_of`: moments, least length) with the number of lines
    kept there: scenes held or lying among real textures, dim ones among them, landscape and
    portrait, at the working sizes of the first and of the finer search."""
    photos = real_photographs()
    out = []
    for seed, width, height in ((3, 1280, 720), (12, 1280, 720), (49, 1280, 720),
                                (100004, 1280, 720), (21, 720, 1280), (400012, 1280, 720)):
        image = make_scene(seed, width, height, backdrops=photos).image
        first = PORTRAIT_LONG_SIDE if height > width else 320
        for long_side in (first, FINE_LONG_SIDE):
            work = prepare(image, long_side)
            moments, min_len = runs_of(work)
            max_lines = (lines_module._MAX_LINES_PORTRAIT if height > width
                         else lines_module._MAX_LINES)
            out.append((moments, min_len, max_lines))
    return out


def test_the_compiled_lines_are_their_definition(runs: list[tuple[F64, float, int]]) -> None:
    dim = 0
    for moments, min_len, max_lines in runs:
        want = lines_by_definition(moments, min_len, max_lines)
        got = _lines_of_runs(moments, min_len, max_lines)
        assert got.shape == want.shape and len(want) >= 8
        # The same arithmetic; numpy's trigonometry may differ in its last bit on some CPUs.
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        dim += min_len < 9.0
    assert dim >= 1


def test_the_compiled_lines_keep_their_caps(runs: list[tuple[F64, float, int]]) -> None:
    # Fewer lines kept, and few runs: the caps and the corner lines as in the definition.
    for moments, min_len, _ in runs[:4]:
        for max_lines, first in ((4, len(moments)), (12, 40), (24, 12)):
            part = np.ascontiguousarray(moments[:first])
            want = lines_by_definition(part, min_len, max_lines)
            got = _lines_of_runs(part, min_len, max_lines)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_segments_on_one_line_are_grouped_under_the_longest() -> None:
    # Longest first: two pieces of a line y = 50 (the second 1 px off it and tilted 1
    # degree), a line y = 60 parallel to it, a piece of x = 100 across them, and a piece of
    # y = 50 tilted 8 degrees (too steep to be on it).
    def segment(x0: float, y0: float, angle: float, length: float) -> tuple[float, ...]:
        dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        return x0, y0, x0 + dx * length, y0 + dy * length

    pieces = np.array([segment(0, 50, 0, 90), segment(150, 51, 1, 40), segment(0, 60, 0, 35),
                       segment(100, 0, 90, 30), segment(200, 50, 8, 20)])
    ends = np.stack([pieces[:, :2], pieces[:, 2:]])
    direction = ends[1] - ends[0]
    direction /= np.hypot(*direction.T)[:, None]
    nx, ny = direction[:, 1], -direction[:, 0]
    c = -(nx * ends[0, :, 0] + ny * ends[0, :, 1])
    leads, group = _on_one_line(nx, ny, c, ends, _SAME_LINE_COS)
    assert leads.tolist() == [0, 2, 3, 4]
    assert group.tolist() == [0, 0, 1, 2, 3]


def test_lines_closing_a_corner_at_both_ends() -> None:
    from booth_client.documents.detect.lines import _CORNER_SIN, _closing_both_ends

    # A card's outline (a 60 x 40 rectangle, its sides' segments stopping 1 px short of the
    # corners), a line running from its top-left corner out to the left (meeting the card's
    # left side at one end only), and a steep line far away.
    pieces = np.array([[11, 10, 69, 10], [70, 11, 70, 49], [69, 50, 11, 50], [10, 49, 10, 11],
                       [9, 10, -40, 10], [200, 0, 230, 40]], np.float64)
    ends = np.stack([pieces[:, :2], pieces[:, 2:]])
    direction = ends[1] - ends[0]
    direction /= np.hypot(*direction.T)[:, None]
    lead = np.arange(len(pieces), dtype=np.int64)
    both = _closing_both_ends(lead, lead.copy(), ends, direction[:, 0], direction[:, 1],
                              _CORNER_SIN)
    assert both.tolist() == [True, True, True, True, False, False]
