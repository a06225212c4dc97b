"""The kiosk screen: the officer's video large, the participant's own preview small, a status
banner in Indonesian, the focus state, and the start button.

``status_text`` and ``compose`` are pure so they can be tested; ``KioskScreen`` only adds the
OpenCV window. ``--headless`` (and an OpenCV build without HighGUI, such as
opencv-python-headless) shows nothing, but ``compose`` still works.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from booth_client.sources import Frame

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    CONNECTING = "connecting"  # no server connection yet
    IDLE = "idle"  # connected, nobody has pressed start
    QUEUED = "queued"
    ASSIGNED = "assigned"  # an officer took the session; media is being set up
    IN_SESSION = "in_session"  # media flowing
    RECONNECTING = "reconnecting"  # media or server lost, recovering on its own
    ENDED = "ended"


DOCUMENT_NAMES = {
    "ktp": "KTP",
    "kpj": "kartu KPJ",
    "kk": "Kartu Keluarga",
    "paklaring": "surat paklaring",
    "bank_book": "buku tabungan",
    "npwp": "kartu NPWP",
    "other": "dokumen yang diminta",
}


@dataclass(frozen=True)
class KioskState:
    phase: Phase = Phase.CONNECTING
    session_id: str | None = None
    position: int | None = None
    ticket: str | None = None
    officer_name: str | None = None
    focused: bool = False
    document_kind: str | None = None
    review: str | None = None  # last document review, already in words
    guidance: str | None = None  # the document capture's prompt while a document is requested
    end_reason: str | None = None
    camera_ok: bool = True

    def evolve(self, **changes: Any) -> KioskState:
        return replace(self, **changes)


def status_text(state: KioskState) -> str:
    """The banner for ``state``, in Indonesian, as the participant reads it."""
    phase = state.phase
    if phase is Phase.CONNECTING:
        return "Menghubungkan ke server…"
    if not state.camera_ok and phase in (Phase.IDLE, Phase.QUEUED, Phase.ENDED):
        return "Kamera bermasalah. Mohon hubungi petugas kantor cabang"
    if phase is Phase.IDLE:
        return "Selamat datang. Tekan MULAI untuk memulai layanan"
    if phase is Phase.QUEUED:
        if state.position is not None and state.position > 0:
            text = f"Nomor antrian: {state.position}. Menunggu petugas…"
        else:
            text = "Menunggu petugas…"
        return f"Tiket {state.ticket} — {text}" if state.ticket else text
    if phase is Phase.ENDED:
        return "Sesi selesai. Terima kasih"
    if phase is Phase.RECONNECTING:
        return "Koneksi terputus, menyambungkan kembali…"
    if phase is Phase.ASSIGNED:
        name = f" {state.officer_name}" if state.officer_name else ""
        return f"Menghubungkan dengan petugas{name}…"
    # In session.
    if state.document_kind is not None:
        doc = DOCUMENT_NAMES.get(state.document_kind, "dokumen")
        prompt = state.guidance or f"Silakan tunjukkan {doc} Anda ke kamera"
        return f"{state.review}. {prompt}" if state.review else prompt
    if state.review:
        return state.review
    if not state.focused:
        return "Petugas sedang melayani peserta lain. Mohon tunggu sebentar"
    name = f" {state.officer_name}" if state.officer_name else ""
    return f"Anda sedang dilayani petugas{name}"


# The console's rejection reasons (cso_console/console/documents.js), as the kiosk says them.
REJECT_REASONS = {
    "blurry": "Foto buram, silakan ulangi",
    "glare": "Ada pantulan cahaya, silakan ulangi",
    "cut_off": "Dokumen terpotong, tunjukkan seluruh dokumen",
    "wrong_document": "Dokumen salah, tunjukkan dokumen yang diminta",
    "unreadable": "Tulisan tidak terbaca, silakan ulangi",
    "data_mismatch": "Data tidak sesuai, silakan ulangi",
}


def review_text(status: str, reason: str | None) -> str:
    if status == "approved":
        return "Dokumen diterima. Terima kasih"
    if reason in REJECT_REASONS:
        return REJECT_REASONS[reason]
    return f"Dokumen ditolak: {reason}" if reason else "Dokumen ditolak, mohon tunjukkan ulang"


def shows_start_button(state: KioskState) -> bool:
    return state.phase in (Phase.IDLE, Phase.ENDED)


# -- composition --------------------------------------------------------------------------------

CAPTURE_HINT = "Sentuh gambar ini atau tekan SPASI untuk memotret"
BANNER_COLOR = (60, 140, 40)  # the agency's green
FOCUS_COLOR = (40, 200, 40)
WAIT_COLOR = (40, 160, 230)


@dataclass(frozen=True)
class Layout:
    width: int
    height: int

    @property
    def banner(self) -> tuple[int, int, int, int]:
        return (0, 0, self.width, max(40, self.height // 9))

    @property
    def officer(self) -> tuple[int, int, int, int]:
        top = self.banner[3]
        return (0, top, self.width, self.height - top)

    @property
    def preview(self) -> tuple[int, int, int, int]:
        w = max(80, self.width // 4)
        h = w * 3 // 4
        return (self.width - w - 16, self.height - h - 16, w, h)

    @property
    def button(self) -> tuple[int, int, int, int]:
        w, h = max(160, self.width // 4), max(60, self.height // 8)
        return ((self.width - w) // 2, (self.height - h) // 2, w, h)


def _fit_into(canvas: Frame, image: Frame, rect: tuple[int, int, int, int]) -> None:
    """Letterbox ``image`` into ``rect`` of ``canvas`` keeping its aspect ratio."""
    x, y, w, h = rect
    ih, iw = image.shape[:2]
    if iw == 0 or ih == 0 or w <= 0 or h <= 0:
        return
    scale = min(w / iw, h / ih)
    nw, nh = max(1, int(iw * scale)), max(1, int(ih * scale))
    resized = cv2.resize(
        image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    ox, oy = x + (w - nw) // 2, y + (h - nh) // 2
    canvas[oy : oy + nh, ox : ox + nw] = resized


def compose(
    state: KioskState,
    officer: Frame | None,
    preview: Frame | None,
    size: tuple[int, int] = (1280, 720),
) -> Frame:
    """Draw the whole kiosk screen (``size`` = (width, height)) as a BGR image."""
    layout = Layout(*size)
    canvas = np.full((layout.height, layout.width, 3), 24, np.uint8)
    ox, oy, ow, oh = layout.officer
    if officer is not None:
        _fit_into(canvas, officer, layout.officer)
    else:
        cv2.putText(
            canvas,
            "LAPAK ASIK",
            (ox + ow // 2 - 150, oy + oh // 2 - 80),
            cv2.FONT_HERSHEY_DUPLEX,
            1.6,
            (200, 200, 200),
            2,
            cv2.LINE_AA,
        )
    if preview is not None:
        px, py, pw, ph = layout.preview
        _fit_into(canvas, preview, layout.preview)
        cv2.rectangle(canvas, (px - 2, py - 2), (px + pw + 1, py + ph + 1), (230, 230, 230), 2)
        if state.document_kind is not None and state.phase is Phase.IN_SESSION:
            # The manual capture, for when the automatic one does not trigger.
            cv2.putText(
                canvas,
                CAPTURE_HINT,
                (px, py - 10),
                cv2.FONT_HERSHEY_SIMPLEX,
                max(0.4, pw / 640),
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
    bx, by, bw, bh = layout.banner
    cv2.rectangle(canvas, (bx, by), (bx + bw, by + bh), BANNER_COLOR, -1)
    text = status_text(state)
    scale = bh / 60
    cv2.putText(
        canvas,
        _ascii(text),
        (16, by + int(bh * 0.68)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        max(1, int(scale * 2)),
        cv2.LINE_AA,
    )
    if state.phase is Phase.IN_SESSION:
        color = FOCUS_COLOR if state.focused else WAIT_COLOR
        cv2.rectangle(canvas, (ox, oy), (ox + ow - 1, oy + oh - 1), color, 6)
    if shows_start_button(state):
        x, y, w, h = layout.button
        cv2.rectangle(canvas, (x, y), (x + w, y + h), BANNER_COLOR, -1)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), (255, 255, 255), 3)
        cv2.putText(
            canvas,
            "MULAI",
            (x + w // 2 - int(h * 0.9), y + int(h * 0.68)),
            cv2.FONT_HERSHEY_DUPLEX,
            h / 45,
            (255, 255, 255),
            2,
            cv2.LINE_AA,
        )
    return canvas


def _ascii(text: str) -> str:
    # Hershey fonts have no "…" or "—".
    return text.replace("…", "...").replace("—", "-")


def button_hit(size: tuple[int, int], x: int, y: int) -> bool:
    bx, by, bw, bh = Layout(*size).button
    return bx <= x <= bx + bw and by <= y <= by + bh


def preview_hit(size: tuple[int, int], x: int, y: int) -> bool:
    px, py, pw, ph = Layout(*size).preview
    return px <= x <= px + pw and py <= y <= py + ph


# -- the window ---------------------------------------------------------------------------------

WINDOW_NAME = "LAPAK ASIK"
ENTER_KEYS = (10, 13)
CAPTURE_KEYS = (32, ord("c"), ord("C"))  # space or C: take the document photo now


class KioskScreen:
    """Shows composed frames full screen and turns a click on MULAI or Enter into
    ``on_start()``. While a document is requested, space / C or a click on the preview is the
    manual capture (``on_capture()``) and ``preview_overlay`` draws the capture guidance on the
    participant's preview. Call ``render`` from the event loop (a few ms per frame)."""

    def __init__(
        self,
        headless: bool = False,
        size: tuple[int, int] = (1280, 720),
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self.on_start = on_start
        self.on_capture: Callable[[], None] | None = None
        self.preview_overlay: Callable[[Frame], Frame] | None = None
        self.headless = headless
        self.frames_rendered = 0
        self._state = KioskState()
        self._window_open = False
        if not headless:
            self._open_window()

    def _open_window(self) -> None:
        try:
            cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL)
            cv2.setWindowProperty(WINDOW_NAME, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            cv2.setMouseCallback(WINDOW_NAME, self._on_mouse)
            self._window_open = True
        except cv2.error as exc:
            log.warning(
                "no display window (%s); running headless", str(exc).strip().splitlines()[-1]
            )
            self.headless = True

    def _on_mouse(self, event: int, x: int, y: int, flags: int, param: object) -> None:
        # Window coordinates are those of the composed image (OpenCV scales them back).
        if event != cv2.EVENT_LBUTTONUP:
            return
        if button_hit(self.size, x, y):
            self.press_start()
        elif preview_hit(self.size, x, y):
            self.press_capture()

    def press_start(self) -> None:
        if self.on_start is not None and shows_start_button(self._state):
            self.on_start()

    def press_capture(self) -> None:
        if self.on_capture is not None and self._state.document_kind is not None:
            self.on_capture()

    def render(
        self, state: KioskState, officer: Frame | None, preview: Frame | None
    ) -> Frame | None:
        """Compose and show one frame; headless returns None without composing."""
        self._state = state
        if self.headless:
            return None
        if preview is not None and self.preview_overlay is not None:
            preview = self.preview_overlay(preview)
        image = compose(state, officer, preview, self.size)
        self.frames_rendered += 1
        if self._window_open:
            cv2.imshow(WINDOW_NAME, image)
            key = cv2.waitKey(1) & 0xFF
            if key in ENTER_KEYS:
                self.press_start()
            elif key in CAPTURE_KEYS:
                self.press_capture()
        return image

    def close(self) -> None:
        if self._window_open:
            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(WINDOW_NAME)
            self._window_open = False
