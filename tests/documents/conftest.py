from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from booth_client.documents.backdrops import real_photographs
from booth_client.documents.detect.candidates import line_search
from booth_client.documents.detect.edges import PORTRAIT_LONG_SIDE, prepare
from booth_client.documents.detect.profiles import Profiles
from booth_client.documents.detect.shape import F64
from booth_client.documents.synthetic import make_scene


@pytest.fixture(autouse=True, scope="session")
def _one_opencv_thread() -> None:
    # The detector's budget is per core; tests share the machine with other suites.
    cv2.setNumThreads(1)


# `candidates.line_search` of a working frame (profiles of the `n_real` lines found and then of
# the frame border's four, parallel pairs, the support of every line between each pair, and
# `n_real`), with the working frame's size (h, w).
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
        searched = line_search(work)
        assert searched is not None
        h, w = work.gray.shape
        out.append((*searched, (h, w)))
    return out
