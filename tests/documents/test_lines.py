"""Segments grouped into lines (`detect.lines`)."""

from __future__ import annotations

import numpy as np

from booth_client.documents.detect.lines import _SAME_LINE_COS, _on_one_line


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
