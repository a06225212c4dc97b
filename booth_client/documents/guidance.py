"""Live capture guidance for the kiosk screen while the officer has requested a document.

`CaptureGuide` turns successive detections into one prompt per frame and captures the document
by itself once it has been steady and passed the quality gates for a short run of frames. It is
pure logic: the caller passes each frame, its detection and `now`; nothing here sleeps or reads
a clock. `draw_guidance` paints the outline and the prompt onto a BGR frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, corner_angles_deg, order_corners, side_lengths, signed_area
from .kinds import ID1_CARD, PHYSICAL_SIZES, DocumentKind, is_card
from .quality import QualityReport, assess, min_source_px_per_mm
from .rectify import Rectified, rectify

Image = npt.NDArray[np.uint8]


class GuidanceState(enum.Enum):
    NO_DOCUMENT = "no_document"
    OUT_OF_FRAME = "out_of_frame"
    TOO_FAR = "too_far"
    TOO_CLOSE = "too_close"
    TILT = "tilt"
    HOLD_STILL = "hold_still"
    GLARE = "glare"
    TOO_DARK = "too_dark"
    # The camera cannot give the document the pixels per mm the resolution gate asks for even
    # when it fills the frame: the guide says so, asks for the document as close as it can
    # be, and captures at the best resolution this camera can reasonably reach.
    LOW_RESOLUTION = "low_resolution"
    READY = "ready"
    CAPTURED = "captured"


@dataclass(frozen=True)
class Prompt:
    indonesian: str
    english: str


PROMPTS: dict[GuidanceState, Prompt] = {
    GuidanceState.NO_DOCUMENT: Prompt("Tunjukkan dokumen ke kamera",
                                      "Show the document to the camera"),
    GuidanceState.OUT_OF_FRAME: Prompt("Masukkan seluruh dokumen ke dalam layar",
                                       "Bring the whole document into view"),
    GuidanceState.TOO_FAR: Prompt("Dekatkan dokumen ke kamera", "Move the document closer"),
    GuidanceState.TOO_CLOSE: Prompt("Jauhkan sedikit dokumen dari kamera",
                                    "Move the document a little further away"),
    GuidanceState.TILT: Prompt("Hadapkan dokumen lurus ke kamera", "Tilt the document less"),
    GuidanceState.HOLD_STILL: Prompt("Tahan dokumen, jangan bergerak", "Hold still"),
    GuidanceState.GLARE: Prompt("Ada pantulan cahaya, miringkan sedikit dokumen",
                                "Glare on the document, turn it away from the light"),
    GuidanceState.TOO_DARK: Prompt("Terlalu gelap, cari cahaya yang lebih terang",
                                   "Too dark, find more light"),
    GuidanceState.LOW_RESOLUTION: Prompt(
        "Resolusi kamera rendah, dekatkan dokumen sedekat mungkin",
        "The camera's resolution is low: bring the document as close as you can"),
    GuidanceState.READY: Prompt("Bagus, tahan sebentar...", "Good, hold it there..."),
    GuidanceState.CAPTURED: Prompt("Dokumen berhasil diambil", "Document captured"),
}

# READY on a camera that cannot reach the resolution gate.
LOW_RESOLUTION_READY: Prompt = Prompt("Resolusi kamera rendah. Bagus, tahan sebentar...",
                                      "Low camera resolution. Good, hold it there...")


@dataclass(frozen=True)
class GuidanceConfig:
    """Tuning of the guide. Distances are fractions of the frame so they hold at any size."""

    frames_to_capture: int = 5
    # Corner motion between consecutive frames, as a share of the frame diagonal (~6 px at 720p).
    max_motion: float = 0.004
    # Document area as a share of the frame: cards must fill enough for ~5 px/mm at 720p.
    min_fill_card: float = 0.10
    min_fill_page: float = 0.25
    max_fill: float = 0.85
    edge_margin: float = 0.01
    # Perspective: opposite sides may differ by this ratio, corners by this much from 90 deg.
    max_side_ratio: float = 1.3
    max_corner_skew_deg: float = 22.0
    # On a camera that cannot reach the resolution gate (see `reachable_px_per_mm`), the gate
    # becomes this share of what the camera gives a document filling the frame (at 320x240:
    # ~2.2 px/mm on a card, which then covers about a third of the frame).
    low_resolution_share: float = 0.6


@dataclass(frozen=True)
class GuidanceUpdate:
    state: GuidanceState
    prompt: Prompt
    quad: Quad | None
    now: float
    steady_frames: int = 0
    report: QualityReport | None = None
    capture: Rectified | None = None


@dataclass
class CaptureGuide:
    """Guides one requested document from first sight to capture."""

    kind: DocumentKind
    config: GuidanceConfig = field(default_factory=GuidanceConfig)
    _previous: Quad | None = field(default=None, init=False)
    _steady: int = field(default=0, init=False)
    _best: tuple[float, Rectified, QualityReport] | None = field(default=None, init=False)
    captured: Rectified | None = field(default=None, init=False)
    captured_at: float | None = field(default=None, init=False)
    captured_manually: bool = field(default=False, init=False)

    def reset(self) -> None:
        """Start over, e.g. when the officer rejects the still and asks again."""
        self._previous, self._steady, self._best = None, 0, None
        self.captured, self.captured_at, self.captured_manually = None, None, False

    def update(self, frame: Image, quad: Quad | None, now: float) -> GuidanceUpdate:
        if self.captured is not None:
            return self._emit(GuidanceState.CAPTURED, quad, now, capture=None)
        state = self._geometry_state(frame, quad)
        moved = self._motion(frame, quad)
        self._previous = None if quad is None else order_corners(quad)
        if state is GuidanceState.TOO_FAR and self.low_resolution_camera(frame):
            state = GuidanceState.LOW_RESOLUTION
        if state is not None:
            return self._interrupt(state, quad, now)
        assert quad is not None
        if moved:
            return self._interrupt(GuidanceState.HOLD_STILL, quad, now)
        still = rectify(frame, quad, self.kind)
        report = assess(still)
        reasons = report.reasons
        floor = self.resolution_floor(frame)
        if "low_resolution" in reasons and report.source_px_per_mm >= floor:
            # As close as this camera allows: the still goes out with the reason on its report.
            reasons = tuple(r for r in reasons if r != "low_resolution")
        if reasons:
            return self._interrupt(_state_for(reasons, self.low_resolution_camera(frame)),
                                   quad, now, report)
        self._steady += 1
        # Within the steady run, keep the sharpest still: the last frame is not always the best.
        if self._best is None or report.sharpness > self._best[0]:
            self._best = (report.sharpness, still, report)
        if self._steady >= self.config.frames_to_capture:
            _, best, best_report = self._best
            self.captured, self.captured_at = best, now
            return self._emit(GuidanceState.CAPTURED, quad, now, best_report, best)
        if self.low_resolution_camera(frame):
            # Capturing at what this camera can give: the participant is told why it may
            # not be a crisp copy (and the still's report keeps `low_resolution`).
            return self._emit(GuidanceState.READY, quad, now, report,
                              prompt=LOW_RESOLUTION_READY)
        return self._emit(GuidanceState.READY, quad, now, report)

    def low_resolution_camera(self, frame: Image) -> bool:
        """Whether frames of this size cannot give the document the resolution the quality
        gate asks for, however close it is held."""
        h, w = frame.shape[:2]
        return reachable_px_per_mm(self.kind, w, h, self.config) < min_source_px_per_mm(
            self.kind)

    def resolution_floor(self, frame: Image) -> float:
        """The camera pixels per mm a still needs here: the quality gate's, or on a camera
        that cannot reach it, a share of the best it can give."""
        h, w = frame.shape[:2]
        needed = min_source_px_per_mm(self.kind)
        reachable = reachable_px_per_mm(self.kind, w, h, self.config)
        if reachable >= needed:
            return needed
        return self.config.low_resolution_share * reachable

    def capture_now(self, frame: Image, quad: Quad | None, now: float) -> GuidanceUpdate:
        """The manual capture button: take this frame whatever the gates say. Without a
        detection the whole frame is used as the document."""
        if quad is None:
            h, w = frame.shape[:2]
            quad = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
        still = rectify(frame, quad, self.kind)
        report = assess(still)
        self.captured, self.captured_at, self.captured_manually = still, now, True
        return self._emit(GuidanceState.CAPTURED, quad, now, report, still)

    def _emit(self, state: GuidanceState, quad: Quad | None, now: float,
              report: QualityReport | None = None, capture: Rectified | None = None,
              prompt: Prompt | None = None) -> GuidanceUpdate:
        return GuidanceUpdate(state, prompt or PROMPTS[state], quad, now, self._steady, report,
                              capture)

    def _interrupt(self, state: GuidanceState, quad: Quad | None, now: float,
                   report: QualityReport | None = None) -> GuidanceUpdate:
        self._steady, self._best = 0, None
        return self._emit(state, quad, now, report)

    def _motion(self, frame: Image, quad: Quad | None) -> bool:
        if quad is None or self._previous is None:
            return quad is not None
        h, w = frame.shape[:2]
        shift = float(np.linalg.norm(order_corners(quad) - self._previous, axis=1).max())
        return shift > self.config.max_motion * float(np.hypot(w, h))

    def _geometry_state(self, frame: Image, quad: Quad | None) -> GuidanceState | None:
        if quad is None:
            return GuidanceState.NO_DOCUMENT
        cfg = self.config
        h, w = frame.shape[:2]
        q = order_corners(quad)
        margin = cfg.edge_margin * min(w, h)
        if (q[:, 0].min() < margin or q[:, 1].min() < margin or q[:, 0].max() > w - 1 - margin
                or q[:, 1].max() > h - 1 - margin):
            return GuidanceState.OUT_OF_FRAME
        fill = abs(signed_area(q)) / (w * h)
        min_fill = cfg.min_fill_card if is_card(self.kind) or self.kind == "other" else (
            cfg.min_fill_page)
        if fill < min_fill:
            return GuidanceState.TOO_FAR
        if fill > cfg.max_fill:
            return GuidanceState.TOO_CLOSE
        top, right, bottom, left = side_lengths(q)
        ratio = max(top / max(bottom, 1e-6), bottom / max(top, 1e-6),
                    left / max(right, 1e-6), right / max(left, 1e-6))
        skew = float(np.abs(corner_angles_deg(q) - 90.0).max())
        if ratio > cfg.max_side_ratio or skew > cfg.max_corner_skew_deg:
            return GuidanceState.TILT
        return None


def reachable_px_per_mm(kind: DocumentKind, width: int, height: int,
                        config: GuidanceConfig | None = None) -> float:
    """Camera pixels per mm of a document of `kind` as large as the guide lets it be in a
    `width` x `height` frame: square to the camera, inside the edge margins, long side along
    the frame's long side, and at most `max_fill` of the frame."""
    cfg = config or GuidanceConfig()
    size = PHYSICAL_SIZES.get(kind, ID1_CARD)
    usable = 1.0 - 2.0 * cfg.edge_margin
    fit = usable * min(max(width, height) / size.long_mm, min(width, height) / size.short_mm)
    fill = float(np.sqrt(cfg.max_fill * width * height / (size.long_mm * size.short_mm)))
    return min(fit, fill)


def _state_for(reasons: tuple[str, ...], low_resolution_camera: bool) -> GuidanceState:
    if "too_dark" in reasons or "too_bright" in reasons:
        return GuidanceState.TOO_DARK
    if "glare" in reasons:
        return GuidanceState.GLARE
    if "low_resolution" in reasons:
        return GuidanceState.LOW_RESOLUTION if low_resolution_camera else GuidanceState.TOO_FAR
    return GuidanceState.HOLD_STILL


_GOOD = (80, 200, 60)
_WORKING = (0, 170, 255)


def draw_guidance(frame: Image, update: GuidanceUpdate, english: bool = True) -> Image:
    """A copy of `frame` with the document outline and the prompt (Indonesian, then English)."""
    out = frame.copy()
    h, w = out.shape[:2]
    good = update.state in (GuidanceState.READY, GuidanceState.CAPTURED)
    colour = _GOOD if good else _WORKING
    if update.quad is not None:
        pts = np.round(order_corners(update.quad)).astype(np.int32)
        cv2.polylines(out, [pts], True, colour, max(2, w // 320), cv2.LINE_AA)
        for x, y in pts:
            cv2.circle(out, (int(x), int(y)), max(4, w // 160), colour, -1, cv2.LINE_AA)
    scale = w / 1280
    lines = [(update.prompt.indonesian, 1.1 * scale, 2)]
    if english:
        lines.append((update.prompt.english, 0.7 * scale, 1))
    band = int((40 + 34 * len(lines)) * scale)
    overlay = out.copy()
    cv2.rectangle(overlay, (0, h - band), (w, h), (20, 20, 20), -1)
    out = np.asarray(cv2.addWeighted(overlay, 0.6, out, 0.4, 0), np.uint8)
    y = h - band + int(44 * scale)
    for text, size, thickness in lines:
        (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, size, thickness)
        cv2.putText(out, text, ((w - tw) // 2, y), cv2.FONT_HERSHEY_DUPLEX, size,
                    colour if thickness > 1 else (230, 230, 230), thickness, cv2.LINE_AA)
        y += int(36 * scale)
    if update.state is GuidanceState.READY:
        # Progress of the steady run, so the participant sees the capture coming.
        progress = min(1.0, update.steady_frames / 5)
        cv2.rectangle(out, (0, h - band - 6), (int(w * progress), h - band), _GOOD, -1)
    return out
