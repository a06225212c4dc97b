"""Document templates of our own making, drawn with OpenCV, carrying only fake personal data.

They stand in for KTP, KPJ, NPWP cards, A4 letters, the KK table and bank-book pages in the
synthetic scenes and in the booth's synthetic camera source.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .kinds import A4_PAGE, BANK_BOOK_PAGE, ID1_CARD, DocumentKind, PhysicalSize

Image = npt.NDArray[np.uint8]

_SYLLABLES = (
    "su", "ri", "an", "to", "wi", "da", "ya", "ma", "ni", "ra", "di", "ka", "sa", "pu", "tri",
    "har", "yan", "go", "no", "ti", "ning", "sih", "lu", "dewi", "bu", "di", "ek", "wan",
)
_PROVINCES = (
    "ACEH", "SUMATERA UTARA", "JAWA BARAT", "JAWA TENGAH", "JAWA TIMUR", "BALI", "RIAU",
    "KALIMANTAN TIMUR", "SULAWESI SELATAN", "BANTEN", "LAMPUNG", "PAPUA BARAT",
)
_CITIES = ("LANGSA", "MEDAN", "BANDUNG", "SEMARANG", "SURABAYA", "DENPASAR", "PEKANBARU",
           "MAKASSAR", "SERANG", "METRO", "SORONG", "BOGOR")
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_BOLD = cv2.FONT_HERSHEY_DUPLEX


@dataclass(frozen=True)
class RenderedDocument:
    """A document image plus the mask of its shape (cards have rounded corners).

    The nominal corners of the document are the corners of the image, i.e. where the straight
    edges meet, which is what a person marks on a photo of a card with rounded corners.
    """

    image: Image
    mask: Image
    kind: DocumentKind
    size: PhysicalSize


def fake_name(rng: np.random.Generator) -> str:
    words = []
    for _ in range(int(rng.integers(2, 4))):
        n = int(rng.integers(2, 4))
        words.append("".join(rng.choice(_SYLLABLES) for _ in range(n)).upper())
    return " ".join(words)


def fake_digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def _colour(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    c = rng.integers(lo, hi, 3)
    return int(c[0]), int(c[1]), int(c[2])


def _gradient(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int],
              horizontal: bool = False) -> Image:
    steps = np.linspace(0.0, 1.0, w if horizontal else h, dtype=np.float32)
    a = np.asarray(top, np.float32)
    b = np.asarray(bottom, np.float32)
    line = a[None, :] * (1 - steps[:, None]) + b[None, :] * steps[:, None]
    img = np.broadcast_to(line[None, :, :], (h, w, 3)) if horizontal else np.broadcast_to(
        line[:, None, :], (h, w, 3))
    return np.ascontiguousarray(img).astype(np.uint8)


def _text(img: Image, s: str, org: tuple[int, int], scale: float,
          colour: tuple[int, int, int] = (20, 20, 20), bold: bool = False) -> None:
    thickness = max(1, round(scale * (2.2 if bold else 1.4)))
    cv2.putText(img, s, org, _FONT_BOLD if bold else _FONT, scale, colour, thickness, cv2.LINE_AA)


def _centred_text(img: Image, s: str, y: int, scale: float, colour: tuple[int, int, int],
                  bold: bool = False) -> None:
    thickness = max(1, round(scale * (2.2 if bold else 1.4)))
    (tw, _), _ = cv2.getTextSize(s, _FONT_BOLD if bold else _FONT, scale, thickness)
    _text(img, s, ((img.shape[1] - tw) // 2, y), scale, colour, bold)


def _guilloche(img: Image, rng: np.random.Generator, colour: tuple[int, int, int]) -> None:
    """Fine wavy security lines as printed on ID cards."""
    h, w = img.shape[:2]
    xs = np.arange(0, w, 4, dtype=np.float64)
    for k in range(int(rng.integers(6, 14))):
        y0 = rng.uniform(0, h)
        amp = rng.uniform(h * 0.03, h * 0.12)
        freq = rng.uniform(2, 7) * 2 * np.pi / w
        phase = rng.uniform(0, 2 * np.pi)
        ys = y0 + amp * np.sin(xs * freq + phase + k)
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(img, [pts], False, colour, 1, cv2.LINE_AA)


def _portrait(img: Image, rng: np.random.Generator, x0: int, y0: int, x1: int, y1: int) -> None:
    bg = [(40, 40, 200), (200, 90, 30), (210, 210, 210)][int(rng.integers(0, 3))]
    cv2.rectangle(img, (x0, y0), (x1, y1), bg, -1)
    cx, w, h = (x0 + x1) // 2, x1 - x0, y1 - y0
    skin = _colour(rng, 60, 200)
    skin = (min(skin[0], skin[1]) // 2 + 30, skin[1] // 2 + 60, skin[2] // 2 + 110)
    cv2.ellipse(img, (cx, y1), (int(w * 0.48), int(h * 0.28)), 0, 180, 360,
                _colour(rng, 10, 90), -1)
    cv2.ellipse(img, (cx, y0 + int(h * 0.42)), (int(w * 0.26), int(h * 0.28)), 0, 0, 360, skin, -1)
    cv2.ellipse(img, (cx, y0 + int(h * 0.3)), (int(w * 0.28), int(h * 0.2)), 0, 180, 360,
                (20, 20, 25), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (60, 60, 60), 1)


def _signature(img: Image, rng: np.random.Generator, x: int, y: int, w: int, h: int) -> None:
    t = np.linspace(0, 1, 60)
    xs = x + t * w
    ys = y + h * 0.5 + np.cumsum(rng.normal(0, h * 0.12, t.size))
    ys = np.clip(ys, y, y + h)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    cv2.polylines(img, [pts], False, (90, 40, 10), 2, cv2.LINE_AA)


def _ktp(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(ID1_CARD.long_mm * ppm), round(ID1_CARD.short_mm * ppm)
    top = (int(rng.integers(200, 250)), int(rng.integers(170, 225)), int(rng.integers(110, 170)))
    img = _gradient(h, w, top, (int(rng.integers(220, 255)), 235, int(rng.integers(200, 240))),
                    horizontal=bool(rng.integers(0, 2)))
    _guilloche(img, rng, (top[0] - 40, top[1] - 30, top[2]))
    s = ppm / 10.0
    _centred_text(img, "PROVINSI " + str(rng.choice(_PROVINCES)), int(45 * s), 0.85 * s,
                  (20, 20, 20), True)
    _centred_text(img, "KOTA " + str(rng.choice(_CITIES)), int(85 * s), 0.8 * s, (20, 20, 20), True)
    _text(img, "NIK", (int(25 * s), int(135 * s)), 1.0 * s, bold=True)
    _text(img, ": " + fake_digits(rng, 16), (int(130 * s), int(135 * s)), 1.0 * s, bold=True)
    fields = ("Nama", "Tempat/Tgl Lahir", "Jenis Kelamin", "Alamat", "RT/RW", "Kel/Desa",
              "Kecamatan", "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan")
    values = (fake_name(rng), f"{rng.choice(_CITIES)}, {int(rng.integers(1, 28)):02d}-0"
              f"{int(rng.integers(1, 9))}-19{int(rng.integers(55, 99))}",
              str(rng.choice(["LAKI-LAKI", "PEREMPUAN"])), "JL. " + fake_name(rng)[:14],
              f"00{int(rng.integers(1, 9))}/00{int(rng.integers(1, 9))}", fake_name(rng)[:12],
              fake_name(rng)[:12], "ISLAM", "KAWIN", "KARYAWAN SWASTA", "WNI")
    y = 175 * s
    for name, value in zip(fields, values, strict=True):
        _text(img, name, (int(25 * s), int(y)), 0.5 * s)
        _text(img, ": " + value, (int(190 * s), int(y)), 0.5 * s)
        y += 29 * s
    _portrait(img, rng, int(w * 0.72), int(h * 0.27), int(w * 0.93), int(h * 0.72))
    _text(img, str(rng.choice(_CITIES)), (int(w * 0.73), int(h * 0.79)), 0.45 * s)
    _signature(img, rng, int(w * 0.73), int(h * 0.82), int(w * 0.2), int(h * 0.1))
    return img


def _kpj(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(ID1_CARD.long_mm * ppm), round(ID1_CARD.short_mm * ppm)
    s = ppm / 10.0
    green = (int(rng.integers(40, 90)), int(rng.integers(140, 190)), int(rng.integers(20, 70)))
    img = _gradient(h, w, (250, 250, 250), (int(rng.integers(200, 240)), 240, 225))
    band_h = int(h * rng.uniform(0.22, 0.32))
    img[:band_h] = _gradient(band_h, w, green, (green[0] + 40, min(255, green[1] + 50), 30), True)
    cv2.circle(img, (int(55 * s), band_h // 2), int(band_h * 0.35), (255, 255, 255), -1)
    cv2.circle(img, (int(55 * s), band_h // 2), int(band_h * 0.22), green, -1)
    _text(img, "BPJS", (int(100 * s), int(band_h * 0.5)), 0.9 * s, (255, 255, 255), True)
    _text(img, "Ketenagakerjaan", (int(100 * s), int(band_h * 0.85)), 0.6 * s, (255, 255, 255))
    _text(img, "KARTU PESERTA", (int(w * 0.55), int(band_h * 0.65)), 0.75 * s, (255, 255, 255),
          True)
    _guilloche(img[band_h:], rng, (215, 230, 215))
    _text(img, fake_name(rng), (int(30 * s), int(h * 0.5)), 0.85 * s, bold=True)
    _text(img, "No. KPJ " + fake_digits(rng, 11), (int(30 * s), int(h * 0.63)), 0.75 * s)
    _text(img, "Tgl Lahir " + f"{int(rng.integers(1, 28)):02d}-0{int(rng.integers(1, 9))}-19"
          f"{int(rng.integers(55, 99))}", (int(30 * s), int(h * 0.74)), 0.6 * s)
    _text(img, "PT " + fake_name(rng)[:16], (int(30 * s), int(h * 0.84)), 0.6 * s)
    cv2.rectangle(img, (int(w * 0.78), int(h * 0.55)), (int(w * 0.94), int(h * 0.9)),
                  (30, 30, 30), 2)
    for i in range(8):
        for j in range(8):
            if rng.random() < 0.5:
                x0 = int(w * 0.78) + int(i * w * 0.02)
                y0 = int(h * 0.55) + int(j * h * 0.044)
                cv2.rectangle(img, (x0, y0), (x0 + int(w * 0.02), y0 + int(h * 0.044)),
                              (30, 30, 30), -1)
    stripe = img[h - int(h * 0.06):]
    stripe[:] = np.asarray(green, np.uint8)
    return img


def _npwp(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(ID1_CARD.long_mm * ppm), round(ID1_CARD.short_mm * ppm)
    s = ppm / 10.0
    base = (int(rng.integers(170, 230)), int(rng.integers(190, 235)), int(rng.integers(200, 245)))
    img = _gradient(h, w, base, (245, 245, 245), horizontal=True)
    _guilloche(img, rng, (base[0] - 30, base[1] - 30, base[2] - 30))
    cv2.rectangle(img, (0, 0), (w, int(h * 0.2)), (120, 60, 20), -1)
    _text(img, "KEMENTERIAN KEUANGAN REPUBLIK INDONESIA", (int(20 * s), int(h * 0.13)), 0.55 * s,
          (255, 255, 255), True)
    _text(img, "NPWP : " + fake_digits(rng, 15), (int(30 * s), int(h * 0.4)), 0.9 * s, bold=True)
    _text(img, fake_name(rng), (int(30 * s), int(h * 0.55)), 0.75 * s)
    _text(img, "NIK : " + fake_digits(rng, 16), (int(30 * s), int(h * 0.67)), 0.6 * s)
    _text(img, "JL. " + fake_name(rng)[:20], (int(30 * s), int(h * 0.78)), 0.55 * s)
    _text(img, "Tanggal Terdaftar " + f"{int(rng.integers(1, 28)):02d}/0{int(rng.integers(1, 9))}"
          "/20" + f"{int(rng.integers(10, 24))}", (int(30 * s), int(h * 0.9)), 0.5 * s)
    return img


def _paragraphs(img: Image, rng: np.random.Generator, x0: int, x1: int, y: int, y_end: int,
                s: float) -> int:
    line_h = int(22 * s)
    while y < y_end:
        words, x = int(rng.integers(6, 14)), x0
        for _ in range(words):
            word = "".join(rng.choice(_SYLLABLES) for _ in range(int(rng.integers(1, 4))))
            (tw, _), _ = cv2.getTextSize(word, _FONT, 0.5 * s, 1)
            if x + tw > x1:
                break
            _text(img, word, (x, y), 0.5 * s, (35, 35, 35))
            x += tw + int(8 * s)
        y += line_h
        if rng.random() < 0.12:
            y += line_h
    return y


def _letter(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(A4_PAGE.short_mm * ppm), round(A4_PAGE.long_mm * ppm)
    s = ppm / 3.0
    tone = int(rng.integers(225, 252))
    img = np.full((h, w, 3), (tone - 3, tone, tone), np.uint8)
    accent = _colour(rng, 20, 160)
    cv2.circle(img, (int(60 * s), int(60 * s)), int(30 * s), accent, -1)
    _text(img, "PT " + fake_name(rng), (int(110 * s), int(55 * s)), 0.8 * s, accent, True)
    _text(img, "Jl. " + fake_name(rng)[:18] + " No. " + str(int(rng.integers(1, 200))),
          (int(110 * s), int(80 * s)), 0.45 * s)
    cv2.line(img, (int(30 * s), int(100 * s)), (w - int(30 * s), int(100 * s)), accent, 2)
    _centred_text(img, "SURAT KETERANGAN KERJA", int(150 * s), 0.7 * s, (20, 20, 20), True)
    _centred_text(img, "No: " + fake_digits(rng, 3) + "/HRD/" + fake_digits(rng, 4), int(175 * s),
                  0.45 * s, (30, 30, 30))
    y = _paragraphs(img, rng, int(45 * s), w - int(45 * s), int(215 * s), int(h * 0.72), s)
    _text(img, str(rng.choice(_CITIES)).title() + ", " + fake_digits(rng, 2) + " Mei 2024",
          (int(w * 0.58), y + int(30 * s)), 0.45 * s)
    _signature(img, rng, int(w * 0.58), y + int(45 * s), int(w * 0.3), int(50 * s))
    _text(img, fake_name(rng), (int(w * 0.58), y + int(120 * s)), 0.45 * s, bold=True)
    return img


def _family_card(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(A4_PAGE.long_mm * ppm), round(A4_PAGE.short_mm * ppm)
    s = ppm / 3.0
    img = np.full((h, w, 3), (int(rng.integers(225, 250)), 248, 250), np.uint8)
    _guilloche(img, rng, (215, 225, 235))
    _centred_text(img, "KARTU KELUARGA", int(40 * s), 0.9 * s, (20, 20, 20), True)
    _centred_text(img, "No. " + fake_digits(rng, 16), int(65 * s), 0.6 * s, (20, 20, 20))
    x0, x1 = int(25 * s), w - int(25 * s)
    top = int(120 * s)
    rows = int(rng.integers(4, 9))
    cols = np.linspace(x0, x1, 9).astype(int)
    for r in range(rows + 1):
        y = top + int(r * 28 * s)
        cv2.line(img, (x0, y), (x1, y), (40, 40, 40), 1)
        if r > 0:
            for c in range(len(cols) - 1):
                _text(img, fake_name(rng)[:8] if c == 1 else fake_digits(rng, 4),
                      (cols[c] + int(4 * s), y - int(8 * s)), 0.38 * s)
    for c in cols:
        cv2.line(img, (int(c), top), (int(c), top + int(rows * 28 * s)), (40, 40, 40), 1)
    _signature(img, rng, int(w * 0.7), int(h * 0.8), int(w * 0.2), int(40 * s))
    return img


def _bank_book(rng: np.random.Generator, ppm: float) -> Image:
    w, h = round(BANK_BOOK_PAGE.long_mm * ppm), round(BANK_BOOK_PAGE.short_mm * ppm)
    s = ppm / 6.0
    base = _colour(rng, 200, 250)
    img = _gradient(h, w, base, (250, 250, 250))
    bank = _colour(rng, 30, 170)
    cv2.rectangle(img, (0, 0), (w, int(h * 0.18)), bank, -1)
    _text(img, "BANK " + fake_name(rng).split()[0], (int(20 * s), int(h * 0.12)), 1.0 * s,
          (255, 255, 255), True)
    _text(img, "BUKU TABUNGAN", (int(w * 0.55), int(h * 0.12)), 0.8 * s, (255, 255, 255))
    rows = (("No. Rekening", fake_digits(rng, 10)), ("Nama", fake_name(rng)),
            ("Alamat", "JL. " + fake_name(rng)[:16]), ("Cabang", str(rng.choice(_CITIES))))
    y = int(h * 0.35)
    for label, value in rows:
        _text(img, label, (int(30 * s), y), 0.7 * s)
        _text(img, ": " + value, (int(220 * s), y), 0.7 * s, bold=True)
        y += int(45 * s)
    cv2.rectangle(img, (int(w * 0.72), int(h * 0.72)), (int(w * 0.95), int(h * 0.93)),
                  (80, 60, 160), 2)
    _signature(img, rng, int(w * 0.74), int(h * 0.75), int(w * 0.18), int(h * 0.14))
    return img


_DEFAULT_PPM: dict[DocumentKind, float] = {
    "ktp": 10.0, "kpj": 10.0, "npwp": 10.0, "other": 10.0,
    "kk": 3.0, "paklaring": 3.0, "bank_book": 6.0,
}


def _rounded_mask(h: int, w: int, radius: int) -> Image:
    mask = np.zeros((h, w), np.uint8)
    if radius <= 0:
        mask[:] = 255
        return mask
    cv2.rectangle(mask, (radius, 0), (w - 1 - radius, h - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (w - 1, h - 1 - radius), 255, -1)
    for cx, cy in ((radius, radius), (w - 1 - radius, radius), (radius, h - 1 - radius),
                   (w - 1 - radius, h - 1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return mask


def render_document(kind: DocumentKind, rng: np.random.Generator | int = 0,
                    px_per_mm: float | None = None) -> RenderedDocument:
    """Draw a document of the given kind at `px_per_mm` (a default per kind when None).

    Cards are landscape, letters portrait, the KK table landscape, as they are printed. `other`
    draws one of the card designs. The mask is 255 inside the document (rounded card corners
    with radius 3 mm, ISO/IEC 7810) and 0 outside.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ppm = _DEFAULT_PPM[kind] if px_per_mm is None else px_per_mm
    if kind == "ktp":
        img = _ktp(gen, ppm)
    elif kind == "kpj":
        img = _kpj(gen, ppm)
    elif kind == "npwp":
        img = _npwp(gen, ppm)
    elif kind == "paklaring":
        img = _letter(gen, ppm)
    elif kind == "kk":
        img = _family_card(gen, ppm)
    elif kind == "bank_book":
        img = _bank_book(gen, ppm)
    else:
        img = (_ktp, _kpj, _npwp)[int(gen.integers(0, 3))](gen, ppm)
    h, w = img.shape[:2]
    size = {"kk": A4_PAGE, "paklaring": A4_PAGE, "bank_book": BANK_BOOK_PAGE}.get(kind, ID1_CARD)
    radius = round(3.0 * ppm) if size is ID1_CARD else 0
    return RenderedDocument(img, _rounded_mask(h, w, radius), kind, size)
