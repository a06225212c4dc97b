"""Quality gates on a rectified document still: sharpness, glare, exposure, resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from .kinds import DocumentKind, is_card
from .rectify import Rectified

Image = npt.NDArray[np.uint8]

# Thresholds were set on synthetic stills of every kind: crisp stills score sharpness 0.6-1.5,
# a Gaussian blur of sigma 2 px in the camera frame brings them below 0.3.
MIN_SHARPNESS: Final = 0.35
MAX_GLARE_SHARE: Final = 0.02
MIN_MEAN_BRIGHTNESS: Final = 60.0
MAX_DARK_CLIP_SHARE: Final = 0.25
MIN_CARD_PX_PER_MM: Final = 4.0
MIN_PAGE_PX_PER_MM: Final = 2.0
MAX_CLIPPED_SHARE: Final = 0.5
_ANALYSIS_WIDTH: Final = 640


@dataclass(frozen=True)
class QualityReport:
    """Figures of one still and whether it may be sent to the officer."""

    sharpness: float
    glare_share: float
    mean_brightness: float
    dark_share: float
    bright_share: float
    source_px_per_mm: float
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, float | bool | list[str]]:
        return {
            "sharpness": round(self.sharpness, 3),
            "glare_share": round(self.glare_share, 4),
            "mean_brightness": round(self.mean_brightness, 1),
            "dark_share": round(self.dark_share, 4),
            "bright_share": round(self.bright_share, 4),
            "source_px_per_mm": round(self.source_px_per_mm, 2),
            "passed": self.passed,
            "reasons": list(self.reasons),
        }


def _analysis_gray(image: Image) -> npt.NDArray[np.uint8]:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape[:2]
    if w > _ANALYSIS_WIDTH:
        # A fixed analysis scale makes the figures comparable across kinds and canvas sizes.
        gray = cv2.resize(gray, (_ANALYSIS_WIDTH, round(h * _ANALYSIS_WIDTH / w)),
                          interpolation=cv2.INTER_AREA)
    return np.asarray(gray, np.uint8)


def sharpness(image: Image, detail: float = 1.0) -> float:
    """Focus measure independent of how much print the document carries: Laplacian energy over
    gradient energy. Across a step edge blurred by sigma the ratio falls as 1 / sigma^2, while
    more text scales both energies alike. Crisp print scores about 1, a blurred still < 0.3.

    `detail` < 1: the still holds only that share of the analysis scale's detail (it was
    upscaled from fewer camera pixels) and is judged at that scale, in camera pixels, so that
    a crisp still from a low-resolution camera is not taken for a blurred one."""
    gray = _analysis_gray(image)
    if detail < 1.0:
        h, w = gray.shape[:2]
        size = (max(8, round(w * detail)), max(8, round(h * detail)))
        gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8)
    gray = gray.astype(np.float32)
    lap = np.asarray(cv2.Laplacian(gray, cv2.CV_32F, ksize=1), np.float32)
    gx = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=1), np.float32)
    gy = np.asarray(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=1), np.float32)
    grad = float(np.mean(gx * gx + gy * gy))
    if grad < 1.0:
        return 0.0
    return float(np.mean(lap * lap)) / grad


def glare_share(image: Image) -> float:
    """Share of the still covered by highlight blobs: near-clipped, colourless and clearly
    brighter than the document's own paper tone (so a white page is not glare)."""
    gray = _analysis_gray(image)
    paper = float(np.percentile(gray, 60))
    threshold = float(np.clip(paper + 20.0, 235.0, 252.0))
    bright = (gray >= threshold).astype(np.uint8)
    if image.ndim == 3:
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        sat = np.asarray(cv2.resize(hsv[:, :, 1], (gray.shape[1], gray.shape[0]),
                                    interpolation=cv2.INTER_AREA), np.uint8)
        bright &= (sat < 40).astype(np.uint8)
    # Opening drops specks and thin strokes; a specular highlight is a solid blob.
    opened = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return float(np.mean(opened))


def min_source_px_per_mm(kind: DocumentKind) -> float:
    """Cards carry 2-3 mm digits (the NIK) and need more camera pixels per mm than pages."""
    return MIN_CARD_PX_PER_MM if is_card(kind) or kind == "other" else MIN_PAGE_PX_PER_MM


def assess(rectified: Rectified) -> QualityReport:
    image = rectified.image
    gray = _analysis_gray(image)
    mean = float(gray.mean())
    dark = float((gray <= 15).mean())
    bright = float((gray >= 254).mean())
    # Judged at the camera's own sampling where the still was upscaled beyond it.
    analysis_px_per_mm = rectified.px_per_mm * min(1.0, _ANALYSIS_WIDTH / image.shape[1])
    sharp = sharpness(image, min(1.0, rectified.source_px_per_mm / analysis_px_per_mm))
    glare = glare_share(image)
    reasons: list[str] = []
    if sharp < MIN_SHARPNESS:
        reasons.append("blurred")
    if glare > MAX_GLARE_SHARE:
        reasons.append("glare")
    if mean < MIN_MEAN_BRIGHTNESS or dark > MAX_DARK_CLIP_SHARE:
        reasons.append("too_dark")
    elif bright > MAX_CLIPPED_SHARE:
        reasons.append("too_bright")
    if rectified.source_px_per_mm < min_source_px_per_mm(rectified.kind):
        reasons.append("low_resolution")
    return QualityReport(sharp, glare, mean, dark, bright, rectified.source_px_per_mm,
                         tuple(reasons))
