"""The working frame's gradients (`detect.edges`): the compiled passes against their numpy
definitions."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booth_client.documents.detect.edges import _order_statistics, _stronger


def _sobels(seed: int, h: int, w: int) -> tuple[np.ndarray, ...]:
    """Grey and (scaled) saturation gradients of a random textured frame, as `prepare` makes
    them."""
    rng = np.random.default_rng(seed)
    frame = cv2.resize(rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8),
                       (w, h), interpolation=cv2.INTER_CUBIC)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    sat = cv2.extractChannel(cv2.cvtColor(frame, cv2.COLOR_BGR2HSV), 1)
    scale = float(rng.uniform(0.4, 1.0))
    return (cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3),
            cv2.Sobel(sat, cv2.CV_32F, 1, 0, ksize=3, scale=scale),
            cv2.Sobel(sat, cv2.CV_32F, 0, 1, ksize=3, scale=scale))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(3, 200), w=st.integers(3, 330))
def test_gradient_passes_are_as_defined(seed: int, h: int, w: int) -> None:
    gx, gy, sx, sy = _sobels(seed, h, w)
    # The 90th and 98th percentiles of |gx| + |gy| over every other pixel, by np.partition.
    sub = (np.abs(gx) + np.abs(gy))[::2, ::2].astype(np.intp).ravel()
    want = [np.partition(sub, k)[k] for k in (int(0.90 * (sub.size - 1)),
                                             int(0.98 * (sub.size - 1)))]
    assert list(_order_statistics(gx, gy)) == want
    # Per pixel, the gradient of the channel with the stronger edge.
    use_sat = np.abs(sx) + np.abs(sy) > np.abs(gx) + np.abs(gy)
    dx, dy, dx16, dy16 = _stronger(gx, gy, sx, sy)
    assert np.array_equal(dx, np.where(use_sat, sx, gx))
    assert np.array_equal(dy, np.where(use_sat, sy, gy))
    # And the same as Canny takes them, truncated to int16.
    assert np.array_equal(dx16, dx.astype(np.int16))
    assert np.array_equal(dy16, dy.astype(np.int16))
