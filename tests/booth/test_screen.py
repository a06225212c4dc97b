from __future__ import annotations

import numpy as np

from booth_client.screen import (
    KioskScreen,
    KioskState,
    Layout,
    Phase,
    button_hit,
    compose,
    review_text,
    shows_start_button,
    status_text,
)


def test_status_texts_in_indonesian() -> None:
    s = KioskState()
    assert status_text(s) == "Menghubungkan ke server…"
    assert "MULAI" in status_text(s.evolve(phase=Phase.IDLE))
    assert status_text(s.evolve(phase=Phase.QUEUED)) == "Menunggu petugas…"
    assert status_text(s.evolve(phase=Phase.QUEUED, position=3)).startswith("Nomor antrian: 3")
    assert "Tiket A-17" in status_text(s.evolve(phase=Phase.QUEUED, position=1, ticket="A-17"))
    assert "Menghubungkan dengan petugas Budi" in status_text(
        s.evolve(phase=Phase.ASSIGNED, officer_name="Budi")
    )
    live = s.evolve(phase=Phase.IN_SESSION, officer_name="Budi")
    assert status_text(live).startswith("Petugas sedang melayani peserta lain")
    assert status_text(live.evolve(focused=True)) == "Anda sedang dilayani petugas Budi"
    assert status_text(live.evolve(document_kind="ktp")) == "Silakan tunjukkan KTP Anda ke kamera"
    assert "Kartu Keluarga" in status_text(live.evolve(document_kind="kk"))
    rejected = live.evolve(document_kind="ktp", review=review_text("rejected", "buram"))
    assert status_text(rejected) == "Dokumen ditolak: buram. Silakan tunjukkan KTP Anda ke kamera"
    assert status_text(live.evolve(review=review_text("approved", None))).startswith(
        "Dokumen diterima"
    )
    assert status_text(s.evolve(phase=Phase.ENDED)) == "Sesi selesai. Terima kasih"
    assert "menyambungkan kembali" in status_text(s.evolve(phase=Phase.RECONNECTING))
    assert "Kamera bermasalah" in status_text(s.evolve(phase=Phase.IDLE, camera_ok=False))


def test_compose_draws_officer_preview_banner_and_button() -> None:
    officer = np.full((240, 320, 3), (0, 0, 255), np.uint8)
    preview = np.full((240, 320, 3), (255, 0, 0), np.uint8)
    state = KioskState(phase=Phase.IN_SESSION, focused=True)
    image = compose(state, officer, preview, size=(640, 360))
    assert image.shape == (360, 640, 3)
    layout = Layout(640, 360)
    ox, oy, _ow, oh = layout.officer
    assert tuple(image[oy + oh // 2, ox + 200]) == (0, 0, 255)  # officer, large
    px, py, pw, ph = layout.preview
    assert tuple(image[py + ph // 2, px + pw // 2]) == (255, 0, 0)  # own preview, small
    assert tuple(image[5, 5]) == (60, 140, 40)  # the green banner
    idle = compose(KioskState(phase=Phase.IDLE), None, None, size=(640, 360))
    bx, by, bw, bh = layout.button
    assert shows_start_button(KioskState(phase=Phase.IDLE))
    assert button_hit((640, 360), bx + bw // 2, by + bh // 2)
    assert not button_hit((640, 360), 2, 2)
    assert np.any(idle[by + 4, bx + 4] != 24)


def test_headless_screen_renders_nothing_but_start_works() -> None:
    pressed: list[bool] = []
    screen = KioskScreen(headless=True, size=(640, 360), on_start=lambda: pressed.append(True))
    assert screen.render(KioskState(phase=Phase.IDLE), None, None) is None
    screen.press_start()
    assert pressed == [True]
    screen.render(KioskState(phase=Phase.QUEUED), None, None)
    screen.press_start()  # no button while queued
    assert pressed == [True]
    screen.close()


def test_window_falls_back_to_headless_without_highgui() -> None:
    screen = KioskScreen(headless=False, size=(320, 180))
    # opencv-python-headless has no HighGUI: the kiosk keeps running without a window.
    image = screen.render(KioskState(phase=Phase.IDLE), None, None)
    assert screen.headless == (image is None)
    screen.close()
