from __future__ import annotations

import cv2
import numpy as np
import pytest

from booth_client.documents.kinds import DOCUMENT_KINDS, ID1_CARD
from booth_client.documents.rectify import (
    canonical_size,
    decode_image,
    encode_jpeg,
    rectify,
    source_px_per_mm,
)
from booth_client.documents.synthetic import paste_document
from booth_client.documents.templates import render_document


def _perspective_card(corners: np.ndarray) -> np.ndarray:
    """A card whose four corners carry distinct colour patches, warped into a frame."""
    card = render_document("ktp", 5)
    img = card.image.copy()
    h, w = img.shape[:2]
    s = 60
    for (x, y), colour in zip(((0, 0), (w - s, 0), (w - s, h - s), (0, h - s)),
                              ((0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255)), strict=True):
        img[y:y + s, x:x + s] = colour
    flat = type(card)(img, np.full((h, w), 255, np.uint8), card.kind, card.size)
    return paste_document(np.full((720, 1280, 3), 30, np.uint8), flat, corners)


def test_card_rectifies_to_canonical_size_with_corners_in_place() -> None:
    corners = np.array([[350, 180], [930, 230], [900, 560], [320, 500]], np.float32)
    frame = _perspective_card(corners.astype(np.float64))
    out = rectify(frame, corners, "ktp")
    h, w = out.image.shape[:2]
    assert (w, h) == canonical_size("ktp", corners)
    assert w >= 1028 and h >= 648
    assert out.px_per_mm >= 12.0
    assert abs(w / h - ID1_CARD.aspect) < 0.01
    mapped = cv2.perspectiveTransform(corners.reshape(1, 4, 2), out.homography).reshape(4, 2)
    assert np.allclose(mapped, [[0, 0], [w, 0], [w, h], [0, h]], atol=1e-3)
    patch = 30
    expected = ((0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255))
    spots = ((patch, patch), (w - patch, patch), (w - patch, h - patch), (patch, h - patch))
    for (x, y), colour in zip(spots, expected, strict=True):
        assert np.abs(out.image[y, x].astype(int) - colour).max() < 40


def test_portrait_card_stays_portrait() -> None:
    corners = np.array([[500, 100], [800, 100], [800, 576], [500, 576]], np.float32)
    w, h = canonical_size("kpj", corners)
    assert h > w and h >= 1028


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_every_kind_has_a_canonical_size(kind: str) -> None:
    corners = np.array([[100, 100], [700, 100], [700, 520], [100, 520]], np.float32)
    w, h = canonical_size(kind, corners)  # type: ignore[arg-type]
    assert w > h > 300


def test_pages_are_a4_proportioned() -> None:
    corners = np.array([[400, 20], [880, 20], [880, 700], [400, 700]], np.float32)
    w, h = canonical_size("paklaring", corners)
    assert abs(h / w - 297 / 210) < 0.01


def test_source_resolution_reflects_the_camera_view() -> None:
    near = np.array([[100, 100], [1100, 100], [1100, 731], [100, 731]], np.float32)
    far = near * 0.25
    assert abs(source_px_per_mm("ktp", near) - 1000 / 85.6) < 0.2
    assert source_px_per_mm("ktp", far) < source_px_per_mm("ktp", near) / 3.5


def test_jpeg_round_trip() -> None:
    image = render_document("npwp", 2).image
    data = encode_jpeg(image, 92)
    assert data[:3] == b"\xff\xd8\xff"
    back = decode_image(data)
    assert back.shape == image.shape
    assert float(np.abs(back.astype(int) - image.astype(int)).mean()) < 4.0
    with pytest.raises(ValueError):
        decode_image(b"not an image")
