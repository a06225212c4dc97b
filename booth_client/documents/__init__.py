"""Kiosk-side document capture: detection, guidance, quality gates, rectification."""

from .detect import detect_document

__all__ = ["detect_document"]
