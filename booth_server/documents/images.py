"""Checks that an upload is a real JPEG or PNG before anything is stored.

The header gives the dimensions before decoding, so a decompression bomb is refused without
allocating its pixels; then a full decode proves the file is an image, not just its magic bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from booth_server.errors import ApiError, ErrorCode

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
CONTENT_TYPES = {"image/jpeg": "jpeg", "image/png": "png"}


@dataclass(frozen=True)
class CheckedImage:
    format: str
    width: int
    height: int
    quality: dict[str, float]


def sniff(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) from the file header, or None when the header is broken."""
    if fmt == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                      0xCF):
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def image_quality(image: np.ndarray) -> dict[str, float]:
    """Figures the officer sees next to the still: sharpness, exposure, glare."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = gray
    if max(gray.shape) > 1600:
        scale = 1600 / max(gray.shape)
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
    return {
        "sharpness": round(sharpness, 1),
        "brightness": round(float(small.mean()), 1),
        "glare_share": round(float((small >= 250).mean()), 4),
    }


def check_image(data: bytes, content_type: str, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    if len(data) > max_bytes:
        raise ApiError(ErrorCode.TOO_LARGE, f"body: larger than {max_bytes} bytes")
    declared = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
    if declared is None:
        raise ApiError(
            ErrorCode.INVALID, "Content-Type: expected image/jpeg or image/png", status=415
        )
    fmt = sniff(data)
    if fmt is None or fmt != declared:
        raise ApiError(ErrorCode.INVALID, f"body: not a {declared.upper()} file", status=415)
    size = header_size(data, fmt)
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise ApiError(ErrorCode.INVALID, "body: not a decodable image", status=422)
    if size[0] * size[1] > max_pixels:
        raise ApiError(
            ErrorCode.INVALID,
            f"body: {size[0]}x{size[1]} is over {max_pixels // 1_000_000} megapixels",
            status=422,
        )
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if decoded is None or decoded.shape[1] != size[0] or decoded.shape[0] != size[1]:
        raise ApiError(ErrorCode.INVALID, "body: not a decodable image", status=422)
    return CheckedImage(fmt, size[0], size[1], image_quality(decoded))
