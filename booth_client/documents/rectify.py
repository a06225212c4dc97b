"""Perspective rectification of a detected document to a canonical size per kind, and JPEG."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, order_corners, side_lengths
from .kinds import PHYSICAL_SIZES, DocumentKind, px_per_mm_for

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Rectified:
    """A flattened document. `source_px_per_mm` is how densely the camera sampled it: a still
    upscaled from a far-away card looks sharp in size but holds no more detail than that."""

    image: Image
    kind: DocumentKind
    px_per_mm: float
    source_px_per_mm: float
    homography: npt.NDArray[np.float64]


def canonical_size(kind: DocumentKind, quad: Quad) -> tuple[int, int]:
    """(width, height) in px of the rectified still. Orientation follows the quad as seen, so
    a card held upright stays upright; `other` takes its aspect from the quad."""
    ordered = order_corners(quad)
    top, right, bottom, left = side_lengths(ordered)
    across, down = (top + bottom) / 2, (left + right) / 2
    landscape = across >= down
    ppm = px_per_mm_for(kind)
    size = PHYSICAL_SIZES.get(kind)
    if size is None:
        # Unknown document: keep its apparent aspect, long side as long as an ID-1 card's.
        long_px = round(85.6 * ppm)
        short_px = round(long_px * min(across, down) / max(max(across, down), 1e-6))
    else:
        long_px, short_px = round(size.long_mm * ppm), round(size.short_mm * ppm)
    return (long_px, short_px) if landscape else (short_px, long_px)


def _document_mm(kind: DocumentKind, quad: Quad) -> tuple[float, float]:
    """(width, height) in mm of the document as it appears (landscape or portrait)."""
    top, right, bottom, left = side_lengths(order_corners(quad))
    across, down = (top + bottom) / 2, (left + right) / 2
    size = PHYSICAL_SIZES.get(kind)
    if size is None:
        long_mm = 85.6
        short_mm = long_mm * min(across, down) / max(across, down, 1e-6)
    else:
        long_mm, short_mm = size.long_mm, size.short_mm
    return (long_mm, short_mm) if across >= down else (short_mm, long_mm)


def source_px_per_mm(kind: DocumentKind, quad: Quad) -> float:
    """Camera pixels per millimetre along the most foreshortened side: the detail the camera
    really captured, whatever size the still is scaled to afterwards."""
    top, right, bottom, left = side_lengths(order_corners(quad))
    width_mm, height_mm = _document_mm(kind, quad)
    return float(min(top / width_mm, bottom / width_mm, left / height_mm, right / height_mm))


def rectify(image_bgr: Image, quad: Quad, kind: DocumentKind) -> Rectified:
    """Warp the document inside `quad` to its canonical size for `kind`."""
    ordered = order_corners(quad)
    width, height = canonical_size(kind, ordered)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    homography = np.asarray(cv2.getPerspectiveTransform(ordered, target), np.float64)
    flat = cv2.warpPerspective(image_bgr, homography, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    width_mm, _ = _document_mm(kind, ordered)
    return Rectified(np.asarray(flat, np.uint8), kind, width / width_mm,
                     source_px_per_mm(kind, ordered), homography)


def encode_jpeg(image_bgr: Image, quality: int = 90) -> bytes:
    """Baseline JPEG bytes (what the upload endpoint accepts)."""
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def decode_image(data: bytes) -> Image:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    return np.asarray(img, np.uint8)
