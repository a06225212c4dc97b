from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from booth_client.documents.backdrops import real_photographs
from booth_client.documents.detect.edges import PORTRAIT_LONG_SIDE, prepare
from booth_client.documents.detect.lines import segment_lines
from booth_client.documents.detect.profiles import Profiles, between_pairs, profiles
from booth_client.documents.detect.quads import parallel_pairs
from booth_client.documents.detect.shape import F64
from booth_client.documents.synthetic import make_scene


@pytest.fixture(autouse=True, scope="session")
def _one_opencv_thread() -> None:
    # The detector's budget is per core; tests share the machine with other suites.
    cv2.setNumThreads(1)


# The line search's profiles with the frame border's four lines after the `n_real` lines found,
# its parallel pairs and the support of every line between each (`between_pairs`), as
# `candidates.line_candidates` makes them, and the working frame's size (h, w).
LineSearch = tuple[Profiles, npt.NDArray[np.intp], F64, int, tuple[int, int]]


@pytest.fixture(scope="session")
def line_searches() -> list[LineSearch]:
    """`LineSearch`es in scenes with a document held or lying among real textures, landscape
    and portrait (photo backdrops)."""
    photos = real_photographs()
    out = []
    for seed, width, height in ((3, 1280, 720), (12, 1280, 720), (100004, 1280, 720),
                                (21, 720, 1280), (400012, 1280, 720), (400116, 1280, 720)):
        image = make_scene(seed, width, height, backdrops=photos).image
        work = prepare(image, PORTRAIT_LONG_SIDE) if height > width else prepare(image)
        h, w = work.gray.shape
        lines = segment_lines(work)
        border = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, -(w - 1.0)], [0.0, 1.0, 0.0],
                           [0.0, 1.0, -(h - 1.0)]])
        prof = profiles(work, np.concatenate([lines, border]), len(lines))
        pairs = parallel_pairs(prof.lines, h, w)
        out.append((prof, pairs, between_pairs(prof, pairs), len(lines), (h, w)))
    return out
