"""Real photographs to set synthetic documents against, and to test for false detections.

The drawn rooms and desks of `synthetic` are smooth noise, wood grain and flat shapes; a real
camera frame has natural textures and clutter with the statistics of real light. These are the
photographs that scikit-image ships inside its wheel (no download at run time): people, a
cat, a coffee cup on a table, coins, grass, gravel, a brick wall, a rocket by a building, a
clock, chalk writing, the moon. None holds a document (`page`, a scanned page, is left out).

For evaluation and tests only: scikit-image is a development dependency (`pip install -e
'.[dev]'`), not one of the kiosk's.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import cv2
import numpy as np

from .templates import Image

PHOTOGRAPHS: Final = ("astronaut", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
                      "brick", "rocket", "clock", "text", "moon")


@cache
def real_photographs() -> tuple[Image, ...]:
    """The `PHOTOGRAPHS` as BGR uint8 frames, in that order (sizes 300x400 to 512x512)."""
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise RuntimeError("real photographs need scikit-image: pip install -e '.[dev]'") from exc
    photos = []
    for name in PHOTOGRAPHS:
        photo = np.asarray(getattr(data, name)(), np.uint8)
        if photo.ndim == 2:
            bgr = cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)
        else:
            bgr = cv2.cvtColor(np.ascontiguousarray(photo[:, :, :3]), cv2.COLOR_RGB2BGR)
        photos.append(np.asarray(bgr, np.uint8))
    return tuple(photos)
