"""The naive document detector the evaluation compares against.

Canny on the grey frame, external contours, and the largest contour that approxPolyDP reduces to
four points. It is the textbook recipe; kept here so the evaluation measures both in one run.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, order_corners


def detect_document_baseline(image_bgr: npt.NDArray[np.uint8],
                             min_area_frac: float = 0.02) -> Quad | None:
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, 75, 200)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    min_area = min_area_frac * image_bgr.shape[0] * image_bgr.shape[1]
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:10]:
        if cv2.contourArea(contour) < min_area:
            break
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2))
    return None
