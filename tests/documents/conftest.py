from __future__ import annotations

import cv2
import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_opencv_thread() -> None:
    # The detector's budget is per core; tests share the machine with other suites.
    cv2.setNumThreads(1)
