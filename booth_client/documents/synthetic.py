"""Synthetic camera scenes with exact ground-truth document quads.

Each scene is drawn from a seed alone, so evaluation runs and tests are reproducible. The scenes
imitate what a kiosk camera sees: a card held up in front of a person with fingers over its
edges, or a card / page lying on a desk among clutter, under perspective, blur, glare, noise, low
light and JPEG compression; some documents are partly out of frame and some scenes (negatives)
hold no document at all. All document content comes from `templates` and is fake.

Busy desks (`busy=True`) add what a real desk holds that is larger than a card, at its true
size on the desk's plane: a phone, a notebook, a book, a printed sheet, a laptop, a wallet, and
sometimes a sheet or notebook under the card. They come from a second generator, so a busy
scene is the plain scene of the same seed with those things added (a paired comparison).

Photo backdrops (`backdrops=...`, real photographs such as `backdrops.real_photographs()`)
put the document in front of a crop of a real photograph instead of the drawn room or desk:
real textures, real clutter, real lighting. They are chosen by a third generator, so such a
scene is again the plain scene of the same seed with only its background changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from .geometry import Quad, order_corners
from .kinds import ID1_CARD, DocumentKind
from .templates import Image, RenderedDocument, render_document

FloatImage = npt.NDArray[np.float32]

# The kinds drawn as ID-1 cards (the generator draws "other" as a card too).
CARD_KINDS: tuple[DocumentKind, ...] = ("ktp", "kpj", "npwp", "other")
_PAGE_KINDS: tuple[DocumentKind, ...] = ("paklaring", "kk", "bank_book")


@dataclass(frozen=True)
class Scene:
    """One synthetic frame. `quad` is None for negatives; its corners may lie outside the frame."""

    image: Image
    quad: Quad | None
    kind: DocumentKind | None
    seed: int
    tags: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- backgrounds


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> FloatImage:
    """Value noise in [0, 1]: random values on a coarse grid, upsampled smoothly."""
    small = rng.random((max(2, h // cell), max(2, w // cell))).astype(np.float32)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


def _colour(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> npt.NDArray[np.float32]:
    c = rng.integers(lo, hi, 3).astype(np.float32)
    # Real rooms and desks are mostly muted; fully saturated colours are the exception.
    mute = np.float32(rng.uniform(0.0, 0.8))
    return np.asarray(c * (1 - mute) + c.mean() * mute, np.float32)


def _wood(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    base = np.array([rng.uniform(30, 90), rng.uniform(70, 140), rng.uniform(110, 190)],
                    np.float32) * rng.uniform(0.5, 1.3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    along = xx * np.cos(angle) + yy * np.sin(angle)
    warp = _smooth_noise(rng, h, w, 160) * rng.uniform(20, 60)
    grain = 0.5 + 0.5 * np.sin((along + warp) * rng.uniform(0.05, 0.2))
    fine = _smooth_noise(rng, h, w, 6)
    shade = 0.75 + 0.2 * grain + 0.1 * fine
    return np.asarray(base[None, None, :] * shade[:, :, None], np.float32)


def _plain(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    a, b = _colour(rng, 10, 250), _colour(rng, 10, 250)
    b = a * 0.6 + b * 0.4
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = a[None, None, :] * (1 - t) + b[None, None, :] * t
    img = np.array(np.broadcast_to(img, (h, w, 3)), np.float32, order="C")
    speckle = (_smooth_noise(rng, h, w, 3) - 0.5) * rng.uniform(4, 25)
    return np.asarray(img + speckle[:, :, None], np.float32)


def _fabric(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    base = _colour(rng, 20, 230)
    n1 = _smooth_noise(rng, h, w, 4)
    n2 = _smooth_noise(rng, h, w, 40)
    shade = 0.7 + 0.25 * n1 + 0.2 * n2
    return base[None, None, :] * shade[:, :, None]


def _paper(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    """A white sheet or notepad under the card: the hardest desk for a pale card."""
    tone = np.float32(rng.uniform(205, 245))
    tint = rng.uniform(-6, 6, 3).astype(np.float32)
    fibre = (_smooth_noise(rng, h, w, 2) - 0.5) * rng.uniform(3, 10)
    img = np.empty((h, w, 3), np.float32)
    img[:] = tone + tint
    img += fibre[:, :, None]
    if rng.random() < 0.5:
        # Ruled lines of a notepad.
        gap = int(rng.integers(28, 60))
        colour = np.asarray([rng.uniform(150, 220), rng.uniform(120, 200), rng.uniform(90, 160)],
                            np.float32)
        for y in range(int(rng.integers(0, gap)), h, gap):
            img[y:y + 2] = img[y:y + 2] * 0.4 + colour * 0.6
    return img


def _laminate(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    """An office desk top: a flat tone with fine speckle and faint long streaks."""
    base = _colour(rng, 60, 220)
    speckle = _smooth_noise(rng, h, w, 2)
    streak = _smooth_noise(rng, 1, w, 12)[0] if rng.random() < 0.5 else np.zeros(w, np.float32)
    shade = 0.9 + 0.12 * speckle + 0.08 * streak[None, :]
    return np.asarray(base[None, None, :] * shade[:, :, None], np.float32)


def _photo_crop(rng: np.random.Generator, photos: Sequence[Image], h: int,
                w: int) -> FloatImage:
    """A crop of one of `photos` (BGR) at the frame's aspect, 60-100 % of the largest such
    crop, maybe mirrored, scaled to the frame: a real room or desk behind the document."""
    photo = photos[int(rng.integers(len(photos)))]
    ph, pw = photo.shape[:2]
    cw = max(2, round(min(pw, ph * w / h) * rng.uniform(0.6, 1.0)))
    ch = max(2, min(ph, round(cw * h / w)))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    scaled = cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(scaled, dtype=np.float32)


def _background(maker: Callable[[np.random.Generator, int, int], FloatImage],
                rng: np.random.Generator, h: int, w: int) -> FloatImage:
    # OpenCV drawing needs a C-contiguous buffer; numpy broadcasting does not always give one.
    return np.ascontiguousarray(maker(rng, h, w), dtype=np.float32)


def _room(rng: np.random.Generator, h: int, w: int) -> FloatImage:
    """A kiosk view: wall, maybe a door frame or shelf, the participant's head and shirt."""
    img = _background(_plain, rng, h, w)
    for _ in range(int(rng.integers(0, 3))):
        x = int(rng.integers(0, w))
        cv2.rectangle(img, (x, 0), (x + int(rng.integers(10, 60)), h),
                      _colour(rng, 30, 230).tolist(), -1)
    cx = int(rng.integers(int(w * 0.25), int(w * 0.75)))
    skin = _skin(rng)
    shirt = _colour(rng, 10, 230).tolist()
    cv2.ellipse(img, (cx, h + int(h * 0.1)), (int(w * rng.uniform(0.25, 0.4)), int(h * 0.55)),
                0, 0, 360, shirt, -1)
    head = (cx + int(rng.integers(-30, 30)), int(h * rng.uniform(0.2, 0.45)))
    axes = (int(h * rng.uniform(0.13, 0.2)), int(h * rng.uniform(0.18, 0.26)))
    # Hair first, as a larger ellipse behind the face, so no straight hairline appears.
    cv2.ellipse(img, (head[0], head[1] - axes[1] // 4), (axes[0] + 8, axes[1]), 0, 0, 360,
                _colour(rng, 5, 60).tolist(), -1, cv2.LINE_AA)
    cv2.ellipse(img, (head[0], head[1] + axes[1] // 8), axes, 0, 0, 360, skin.tolist(), -1,
                cv2.LINE_AA)
    return img


def _skin(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    tone = rng.uniform(0, 1)
    light = np.array([150, 180, 225], np.float32)
    dark = np.array([45, 70, 110], np.float32)
    jitter = rng.uniform(-12, 12, 3).astype(np.float32)
    return np.asarray(light * (1 - tone) + dark * tone + jitter, np.float32)


def _clutter(rng: np.random.Generator, img: FloatImage, max_rect_frac: float) -> None:
    """Desk things: pens, cables, mugs, coins, sticky notes, a phone, a keyboard edge."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(2, 9))):
        kind = rng.choice(["pen", "cable", "mug", "coin", "note", "phone", "keyboard", "blob"],
                          p=[0.18, 0.12, 0.1, 0.1, 0.16, 0.1, 0.06, 0.18])
        colour = _colour(rng, 0, 256).tolist()
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        if kind == "pen":
            box = ((cx, cy), (float(rng.uniform(80, 260)), float(rng.uniform(6, 16))),
                   float(rng.uniform(0, 180)))
            cv2.fillPoly(img, [cv2.boxPoints(box).astype(np.int32)], colour, cv2.LINE_AA)
        elif kind == "cable":
            pts = np.cumsum(rng.normal(0, 30, (12, 2)), axis=0) + np.array([cx, cy])
            cv2.polylines(img, [pts.astype(np.int32)], False, colour, int(rng.integers(3, 9)),
                          cv2.LINE_AA)
        elif kind == "mug":
            r = int(rng.uniform(40, 90))
            cv2.circle(img, (int(cx), int(cy)), r, colour, -1, cv2.LINE_AA)
            cv2.circle(img, (int(cx), int(cy)), int(r * 0.8), (np.asarray(colour) * 0.5).tolist(),
                       -1, cv2.LINE_AA)
        elif kind == "coin":
            cv2.circle(img, (int(cx), int(cy)), int(rng.uniform(8, 16)), colour, -1, cv2.LINE_AA)
        elif kind in ("note", "phone"):
            # Kept below the smallest document the detector should report.
            area = rng.uniform(0.2, 1.0) * max_rect_frac * w * h
            ratio = rng.uniform(1.0, 2.1)
            sw, sh = float(np.sqrt(area * ratio)), float(np.sqrt(area / ratio))
            box = ((cx, cy), (sw, sh), float(rng.uniform(0, 180)))
            fill = [30.0, 30.0, 35.0] if kind == "phone" else colour
            cv2.fillPoly(img, [cv2.boxPoints(box).astype(np.int32)], fill, cv2.LINE_AA)
        elif kind == "keyboard":
            # Only its edge shows at a frame border: a big rectangle is a legitimate detection.
            kh = int(rng.uniform(0.08, 0.16) * h)
            x0 = int(rng.uniform(0, w * 0.4))
            x1 = int(rng.uniform(w * 0.6, w))
            y0 = h - kh
            cv2.rectangle(img, (x0, y0), (x1, h), (25, 25, 28), -1)
            for kx in range(x0 + 6, x1 - 20, 34):
                for ky in range(y0 + 6, h - 20, 34):
                    cv2.rectangle(img, (kx, ky), (kx + 28, ky + 28), (50, 50, 55), -1)
        else:
            axes = (int(rng.uniform(20, 90)), int(rng.uniform(10, 60)))
            cv2.ellipse(img, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360,
                        colour, -1, cv2.LINE_AA)


def _plane_polygon(hom: npt.NDArray[np.float64], pts: npt.NDArray[np.float64]) -> (
        npt.NDArray[np.float64] | None):
    """Image points of desk-plane points through `hom`; None if any lies behind the camera."""
    ones = np.ones((len(pts), 1))
    mapped = np.hstack([pts, ones]) @ hom.T
    if (mapped[:, 2] <= 1e-6).any():
        return None
    return np.asarray(mapped[:, :2] / mapped[:, 2:3], np.float64)


def _rect(centre: npt.NDArray[np.float64], size: tuple[float, float], angle: float,
          inset: float = 0.0) -> npt.NDArray[np.float64]:
    """Corners of a `size` rectangle turned by `angle` about `centre`, shrunk by `inset`."""
    c, s = np.cos(angle), np.sin(angle)
    hw, hh = size[0] / 2 - inset, size[1] / 2 - inset
    local = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
    return np.asarray(local @ np.array([[c, s], [-s, c]]) + centre, np.float64)


# Larger things on a real desk, long x short side in mm.
_DESK_THINGS: dict[str, tuple[float, float]] = {
    "phone": (147.0, 71.0), "notebook": (210.0, 148.0), "book": (230.0, 155.0),
    "sheet": (297.0, 210.0), "laptop": (310.0, 215.0), "wallet": (115.0, 90.0),
}


def _desk_things(rng: np.random.Generator, img: FloatImage, document: RenderedDocument,
                 corners: npt.NDArray[np.float64]) -> list[str]:
    """A busy desk: things larger than a card at their true size on the document's plane
    (a phone, a notebook, a book, a printed sheet, a laptop, a wallet), some reaching out of
    frame; a card sometimes lies on a sheet or notebook. Drawn before the document, so they
    lie under it. Returns what was drawn."""
    h, w = img.shape[:2]
    th, tw = document.image.shape[:2]
    ppm = tw / document.size.long_mm
    # The document's own mapping from its template to the frame (as in `_warp_document`).
    src = np.array([[-0.5, -0.5], [tw - 0.5, -0.5], [tw - 0.5, th - 0.5], [-0.5, th - 0.5]],
                   np.float32)
    hom = np.asarray(cv2.getPerspectiveTransform(src, corners.astype(np.float32)), np.float64)
    centre = np.array([tw / 2, th / 2])
    card = document.size == ID1_CARD
    drawn: list[str] = []
    things: list[tuple[str, npt.NDArray[np.float64], float, bool]] = []
    if card and rng.random() < 0.4:
        # The card lies on a sheet or an open notebook: the card is inside it.
        name = "sheet" if rng.random() < 0.5 else "notebook"
        long_px, short_px = (v * ppm for v in _DESK_THINGS[name])
        angle = float(np.radians(rng.normal(0, 12)))
        # Lengthwise under the card, or turned across it.
        swap = rng.random() < 0.5
        extent = np.array([short_px, long_px] if swap else [long_px, short_px])
        # Room for the card to move about and stay on it (tilt aside).
        room = (extent - np.array([tw, th])) / 2 * 0.8
        offset = rng.uniform(-1, 1, 2) * np.maximum(room, 0)
        things.append((name, centre + offset, angle + (np.pi / 2 if swap else 0.0), True))
    for _ in range(int(rng.integers(1, 4))):
        name = str(rng.choice(["phone", "notebook", "book", "sheet", "laptop", "wallet"],
                              p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.1]))
        # Beside the document: 0.6-2.5 of its long side away, in any direction.
        bearing = rng.uniform(0, 2 * np.pi)
        reach = rng.uniform(0.6, 2.5) * tw
        spot = centre + reach * np.array([np.cos(bearing), np.sin(bearing)])
        things.append((name, spot, float(rng.uniform(0, np.pi)), False))
    for name, spot, angle, under in things:
        long_px, short_px = (v * ppm for v in _DESK_THINGS[name])
        outline = _plane_polygon(hom, _rect(spot, (long_px, short_px), angle))
        if outline is None or np.abs(outline).max() > 8 * max(w, h):
            continue
        drawn.append("on_page" if under else name)
        poly = [np.round(outline).astype(np.int32)]
        if name == "phone":
            cv2.fillPoly(img, poly, [float(v) for v in rng.uniform(15, 60, 3)], cv2.LINE_AA)
            screen = _plane_polygon(hom, _rect(spot, (long_px * 0.86, short_px * 0.9), angle))
            if screen is not None:
                cv2.fillPoly(img, [np.round(screen).astype(np.int32)],
                             [float(v) for v in rng.uniform(5, 25, 3)], cv2.LINE_AA)
        elif name == "laptop":
            cv2.fillPoly(img, poly, [float(rng.uniform(40, 190))] * 3, cv2.LINE_AA)
            keys = _plane_polygon(hom, _rect(spot, (long_px * 0.85, short_px * 0.45), angle))
            if keys is not None:
                cv2.fillPoly(img, [np.round(keys).astype(np.int32)],
                             [float(rng.uniform(15, 40))] * 3, cv2.LINE_AA)
        elif name == "sheet":
            paper = rng.uniform(215, 250) + rng.uniform(-6, 6, 3)
            cv2.fillPoly(img, poly, paper.tolist(), cv2.LINE_AA)
            # Lines of print: 5 mm apart, from margin to margin.
            c, s = np.cos(angle), np.sin(angle)
            along, across = np.array([c, s]), np.array([-s, c])
            for k in np.arange(-short_px / 2 + 25 * ppm, short_px / 2 - 25 * ppm, 5 * ppm):
                if rng.random() < 0.15:
                    continue
                length = long_px - 50 * ppm
                start = spot + across * k - along * length / 2
                ends = np.array([start, start + along * length * rng.uniform(0.4, 1.0)])
                line = _plane_polygon(hom, ends)
                if line is not None:
                    cv2.line(img, tuple(int(v) for v in np.round(line[0])),
                             tuple(int(v) for v in np.round(line[1])),
                             [float(rng.uniform(60, 120))] * 3, 1, cv2.LINE_AA)
        else:
            cv2.fillPoly(img, poly, _colour(rng, 20, 240).tolist(), cv2.LINE_AA)
            if name == "notebook" and rng.random() < 0.5:
                # Open: its pale pages inside the cover's edge.
                inner = _plane_polygon(hom, _rect(spot, (long_px, short_px), angle, 4 * ppm))
                if inner is not None:
                    cv2.fillPoly(img, [np.round(inner).astype(np.int32)],
                                 [float(rng.uniform(215, 245))] * 3, cv2.LINE_AA)
    return drawn


# --------------------------------------------------------------------------- geometry


def _rotation(rx: float, ry: float, rz: float) -> npt.NDArray[np.float64]:
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return np.asarray(mz @ my @ mx, dtype=np.float64)


def _project_document(rng: np.random.Generator, doc_w: float, doc_h: float, width: int,
                      height: int, target_frac: float, out_of_frame: bool) -> npt.NDArray[
                          np.float64]:
    """Image corners (template order TL, TR, BR, BL) of a document posed in 3D."""
    r = rng.random()
    if r < 0.65:
        roll = rng.normal(0, 8)
    elif r < 0.9:
        roll = rng.uniform(-40, 40)
    else:
        roll = rng.choice([-90.0, 90.0]) + rng.normal(0, 8)
    tilt_x = float(np.clip(rng.normal(0, 14), -45, 45))
    tilt_y = float(np.clip(rng.normal(0, 14), -45, 45))
    rot = _rotation(np.radians(tilt_x), np.radians(tilt_y), np.radians(roll))
    local = np.array([[-doc_w / 2, -doc_h / 2, 0], [doc_w / 2, -doc_h / 2, 0],
                      [doc_w / 2, doc_h / 2, 0], [-doc_w / 2, doc_h / 2, 0]])
    # A camera's focal length is a property of its lens and sensor: turning it to take portrait
    # frames does not shorten it (0.7-1.4 of the long side: a phone's or a webcam's lens).
    focal = rng.uniform(0.7, 1.4) * max(width, height)
    # Distance chosen so the document's longer extent is about target_frac of the frame width.
    z = focal * max(doc_w, doc_h) / (target_frac * width)
    cam = local @ rot.T + np.array([0.0, 0.0, z])
    pts = focal * cam[:, :2] / cam[:, 2:3]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    if out_of_frame:
        # Push the document over one or two frame borders by up to a quarter of its size.
        shift = np.zeros(2)
        for axis in rng.choice(2, size=int(rng.integers(1, 3)), replace=False):
            limit = width if axis == 0 else height
            over = rng.uniform(0.05, 0.25) * span[axis]
            shift[axis] = -lo[axis] - over if rng.random() < 0.5 else limit - hi[axis] + over
        other = [a for a in range(2) if shift[a] == 0]
        for axis in other:
            limit = width if axis == 0 else height
            shift[axis] = rng.uniform(-lo[axis], max(-lo[axis], limit - hi[axis]))
        return np.asarray(pts + shift, np.float64)
    margin = 0.02 * np.array([width, height])
    room = np.array([width, height]) - span - 2 * margin
    offset = margin - lo + rng.uniform(0, 1, 2) * np.maximum(room, 0) + np.minimum(room, 0) / 2
    return np.asarray(pts + offset, np.float64)


# --------------------------------------------------------------------------- compositing


def _card_finish(document: RenderedDocument, rng: np.random.Generator) -> RenderedDocument:
    """What printing and lamination add to a real card: often a thin pale margin around the
    printed field (else the field is printed to the edge), sometimes a faint darker rim."""
    img = document.image.copy()
    h, w = img.shape[:2]
    ppm = w / document.size.long_mm
    r = rng.random()
    if r < 0.35:
        margin = max(1, round(rng.uniform(0.5, 1.5) * ppm))
        pale = np.asarray(rng.uniform(225, 252, 3), np.float64)
        # Drawn inside the card outline, so the ground-truth corners stay where they were.
        cv2.rectangle(img, (0, 0), (w - 1, h - 1), pale.tolist(), margin)
    elif r < 0.55:
        rim = max(1, round(0.3 * ppm))
        shade = img[:rim].astype(np.float32) * 0.8
        img[:rim] = shade.astype(np.uint8)
        img[-rim:] = (img[-rim:].astype(np.float32) * 0.8).astype(np.uint8)
        img[:, :rim] = (img[:, :rim].astype(np.float32) * 0.8).astype(np.uint8)
        img[:, -rim:] = (img[:, -rim:].astype(np.float32) * 0.8).astype(np.uint8)
    return RenderedDocument(img, document.mask, document.kind, document.size)


def _shade_layer(layer: FloatImage, alpha: FloatImage, rng: np.random.Generator,
                 card: bool) -> FloatImage:
    """Soft shading across the document (it is not lit evenly: tilted to the lamp, curled),
    and for a glossy card a brighter sheen band."""
    ys, xs = np.nonzero(alpha[:, :, 0] > 0.5)
    if len(xs) == 0:
        return layer
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    angle = rng.uniform(0, 2 * np.pi)
    gx, gy = np.meshgrid(np.linspace(-0.5, 0.5, x1 - x0, dtype=np.float32),
                         np.linspace(-0.5, 0.5, y1 - y0, dtype=np.float32))
    ramp = gx * np.float32(np.cos(angle)) + gy * np.float32(np.sin(angle))
    light = 1.0 + np.float32(rng.uniform(0.0, 0.25)) * ramp
    if card and rng.random() < 0.3:
        band = np.exp(-((ramp - np.float32(rng.uniform(-0.4, 0.4))) / 0.08) ** 2)
        light = light + np.float32(rng.uniform(0.05, 0.2)) * band
    out = layer.copy()
    out[y0:y1, x0:x1] *= light[:, :, None]
    return out


def paste_document(frame: Image, document: RenderedDocument, corners: npt.ArrayLike,
                   shade: float = 1.0) -> Image:
    """Warp a rendered document onto `frame` so its image corners land on `corners`.

    `corners` are in the document's own order (its top-left first, clockwise). Returns a new
    frame; edges are anti-aliased through the warped mask. Used by the synthetic scenes and by
    the booth's synthetic camera source.
    """
    out = frame.astype(np.float32)
    layer, alpha = _warp_document(document, np.asarray(corners, np.float64), frame.shape[1],
                                  frame.shape[0])
    out = out * (1 - alpha) + layer * shade * alpha
    return np.asarray(np.clip(out, 0, 255), np.uint8)


def _warp_document(document: RenderedDocument, corners: npt.NDArray[np.float64], width: int,
                   height: int) -> tuple[FloatImage, FloatImage]:
    img, mask = document.image, document.mask
    th, tw = img.shape[:2]
    extent = float(np.max(np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)))
    factor = extent / max(tw, th)
    if factor < 0.7:
        # Shrinking in one warp aliases the fine print; pre-shrink like a camera lens would blur.
        size = (max(8, round(tw * factor * 1.3)), max(8, round(th * factor * 1.3)))
        img = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), np.uint8)
        mask = np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_AREA), np.uint8)
        th, tw = img.shape[:2]
    # The document's outline: its corner pixels' outer corners (pixel centres are whole
    # numbers, in the template as in the frame), so the edge lies right on the true quad.
    src = np.array([[-0.5, -0.5], [tw - 0.5, -0.5], [tw - 0.5, th - 0.5], [-0.5, th - 0.5]],
                   np.float32)
    hom = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    # The colour runs on past the outline (replicated), so the mask alone fades the edge: a
    # black border would darken the edge pixels a second time and pull the edge inward.
    layer = cv2.warpPerspective(img, hom, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpPerspective(mask, hom, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT)
    return (np.asarray(layer, np.float32),
            (np.asarray(alpha, np.float32) / 255.0)[:, :, None])


def _soft_ellipse(h: int, w: int, centre: npt.ArrayLike, axes: tuple[float, float],
                  angle: float, soft: float) -> tuple[slice, slice, FloatImage] | None:
    """A feathered ellipse mask restricted to its bounding box (clipped to the frame).

    Working on the box instead of the whole frame keeps a scene around 20-40 ms.
    """
    cx, cy = (float(v) for v in np.asarray(centre, np.float64).reshape(2))
    reach = max(axes) + 3 * soft + 2
    x0, x1 = max(0, int(cx - reach)), min(w, int(cx + reach) + 1)
    y0, y1 = max(0, int(cy - reach)), min(h, int(cy + reach) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    m = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.ellipse(m, (round(cx - x0), round(cy - y0)), (max(1, round(axes[0])),
                max(1, round(axes[1]))), angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    if soft > 0:
        m = np.asarray(cv2.GaussianBlur(m, (0, 0), soft), np.float32)
    return slice(y0, y1), slice(x0, x1), m


def _paint(img: FloatImage, region: tuple[slice, slice, FloatImage] | None,
           colour: npt.ArrayLike, strength: float | FloatImage = 1.0) -> None:
    if region is None:
        return
    ys, xs, m = region
    weight = (m * strength)[:, :, None]
    patch = img[ys, xs]
    colours = np.asarray(colour, np.float32)
    img[ys, xs] = patch * (1 - weight) + colours * weight


def _draw_finger(img: FloatImage, rng: np.random.Generator, base: npt.NDArray[np.float64],
                 direction: npt.NDArray[np.float64], length: float, width: float,
                 skin: npt.NDArray[np.float32]) -> None:
    """A finger from `base` pointing along `direction`: shaded skin ellipse plus a nail."""
    h, w = img.shape[:2]
    d = direction / (np.linalg.norm(direction) + 1e-9)
    centre = base + d * length / 2
    angle = float(np.degrees(np.arctan2(d[1], d[0])))
    _paint(img, _soft_ellipse(h, w, centre, (length / 2, width / 2), angle, 1.2), skin * 0.72)
    _paint(img, _soft_ellipse(h, w, centre, (length / 2 * 0.85, width / 2 * 0.55), angle,
                              width * 0.18), np.minimum(skin * 1.05, 255))
    if rng.random() < 0.7:
        tip = base + d * length * 0.8
        nail = np.minimum(skin * 1.15 + 20, 255)
        _paint(img, _soft_ellipse(h, w, tip, (length * 0.12, width * 0.3), angle, 0.8), nail)


def _glare(img: FloatImage, rng: np.random.Generator, quad: npt.NDArray[np.float64],
           region: FloatImage) -> None:
    """A specular highlight: a bright soft ellipse, mostly on the (glossy) document."""
    h, w = img.shape[:2]
    t = rng.uniform(0.1, 0.9, 2)
    top = quad[0] + (quad[1] - quad[0]) * t[0]
    bottom = quad[3] + (quad[2] - quad[3]) * t[0]
    centre = top + (bottom - top) * t[1]
    size = float(np.linalg.norm(quad[1] - quad[0]))
    axes = (size * rng.uniform(0.06, 0.25), size * rng.uniform(0.04, 0.15))
    spot = _soft_ellipse(h, w, centre, axes, float(rng.uniform(0, 180)),
                         max(axes) * rng.uniform(0.2, 0.6))
    if spot is None:
        return
    ys, xs, _ = spot
    # Glossy laminate reflects far more than the desk or the hand around it.
    strength = (0.25 + 0.75 * region[ys, xs]) * rng.uniform(0.6, 1.0)
    _paint(img, spot, (280.0, 280.0, 280.0), strength)


def _motion_kernel(rng: np.random.Generator) -> FloatImage:
    length = int(rng.integers(3, 14))
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)),
                                  1.0)
    k = np.asarray(cv2.warpAffine(k, rot, (length, length)), np.float32)
    return np.asarray(k / max(float(k.sum()), 1e-6), np.float32)


def _barrel(img: FloatImage, corners: npt.NDArray[np.float64] | None, k: float) -> tuple[
        FloatImage, npt.NDArray[np.float64] | None]:
    """What a wide webcam lens does before the sensor: barrel distortion of strength `k`, a
    point at radius r (a share of the half-diagonal) seen at the radius where
    r_d (1 + k r_d^2) / (1 + k) = r. The frame's corners stay where they are and its centre is
    magnified 1 + k times, so every pixel is drawn from inside the frame; straight lines bow
    outward, most near the frame's edges. The document's true corners go where the lens puts
    them, which is what a person marks on such a photo."""
    h, w = img.shape[:2]
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    half = float(np.hypot(*centre))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - np.float32(centre[0]), ys - np.float32(centre[1])
    grow = (1 + np.float32(k) * (dx * dx + dy * dy) / np.float32(half * half)) / np.float32(1 + k)
    out = cv2.remap(img, np.float32(centre[0]) + dx * grow, np.float32(centre[1]) + dy * grow,
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if corners is None:
        return np.asarray(out, np.float32), None
    # Each true corner's radius r on the sensor, by Newton's method on r_d (1 + k r_d^2) / (1 + k).
    offset = corners - centre
    r = np.hypot(offset[:, 0], offset[:, 1]) / half
    rd = r.copy()
    for _ in range(20):
        rd -= (rd * (1 + k * rd * rd) / (1 + k) - r) / ((1 + 3 * k * rd * rd) / (1 + k))
    scale = np.where(r > 1e-12, rd / np.maximum(r, 1e-12), 1 + k)
    return np.asarray(out, np.float32), centre + offset * scale[:, None]


def _finish(img: FloatImage, rng: np.random.Generator, tags: list[str]) -> Image:
    """Camera effects: illumination, vignetting, blur, noise, low light, JPEG."""
    h, w = img.shape[:2]
    light = 0.75 + 0.5 * _smooth_noise(rng, h, w, 400)
    xs = ((np.arange(w, dtype=np.float32) - w / 2) / w) ** 2
    ys = ((np.arange(h, dtype=np.float32) - h / 2) / h) ** 2
    light *= 1 - np.float32(rng.uniform(0, 0.6)) * (ys[:, None] + xs[None, :])
    cast = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    img = img * light[:, :, None] * cast[None, None, :]
    if rng.random() < 0.18:
        img *= rng.uniform(0.2, 0.45)
        tags.append("low_light")
    r = rng.random()
    if r < 0.2:
        img = np.asarray(cv2.filter2D(img, -1, _motion_kernel(rng)), np.float32)
        tags.append("motion_blur")
    elif r < 0.45:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.8)), np.float32)
        tags.append("defocus")
    sigma = rng.uniform(1, 6) * (2.0 if "low_light" in tags else 1.0)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma)
    out = np.asarray(np.clip(img, 0, 255), np.uint8)
    quality = int(rng.integers(35, 92))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        out = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)
    return out


def make_scene(seed: int, width: int = 1280, height: int = 720,
               negative: bool = False, busy: bool = False,
               backdrops: Sequence[Image] = (), lens: float = 0.0) -> Scene:
    """Draw one scene from `seed`; with `negative` the scene holds no document.

    With `busy`, a desk scene also holds larger things at their true size (`_desk_things`),
    drawn from a second generator: the scene is otherwise the same as without. With
    `backdrops` (BGR photographs), the room or desk is a crop of one of them (`_photo_crop`,
    from a third generator); desk clutter and everything else are drawn as without. With
    `lens`, the whole scene is seen through a wide lens's barrel distortion of that strength
    (`_barrel`; at 0.1 a straight line 100 px below the top of a 1280x720 frame bows by 20
    px, at 0.05 by 10 px), and the truth moves with it."""
    rng = np.random.default_rng(seed)
    tags: list[str] = []
    held = rng.random() < 0.5
    tags.append("hand_held" if held else "desk")
    if held:
        img = _background(_room, rng, height, width)
    else:
        desk = (_wood, _plain, _fabric, _laminate, _paper)[
            int(rng.choice(5, p=[0.25, 0.2, 0.2, 0.2, 0.15]))]
        img = _background(desk, rng, height, width)
    if backdrops:
        # The drawn room or desk above is made all the same and set aside: it takes its draws
        # from `rng`, so everything after it is drawn as in the plain scene of this seed.
        img = _photo_crop(np.random.default_rng([seed, 2]), backdrops, height, width)
        tags.append("photo")
    if not held:
        _clutter(rng, img, max_rect_frac=0.012)
    if negative:
        if rng.random() < 0.5:
            skin = _skin(rng)
            base = np.array([rng.uniform(0, width), height + 20.0])
            for _ in range(int(rng.integers(1, 5))):
                upward = rng.normal(0, 1, 2) + np.array([0.0, -2.0])
                _draw_finger(img, rng, base + rng.normal(0, 30, 2), upward,
                             rng.uniform(80, 200), rng.uniform(30, 50), skin)
        if lens:
            img = _barrel(img, None, lens)[0]
            tags.append("lens")
        return Scene(_finish(img, rng, tags), None, None, seed, ("negative", *tags))

    kind: DocumentKind
    card = held or rng.random() < 0.7
    kind = CARD_KINDS[int(rng.integers(0, 4))] if card else _PAGE_KINDS[int(rng.integers(0, 3))]
    document = render_document(kind, rng)
    if card:
        document = _card_finish(document, rng)
    th, tw = document.image.shape[:2]
    if card:
        target = rng.uniform(0.22, 0.75)
    else:
        # Sized to the frame's short side, so a page fits a portrait frame as a landscape one.
        target = rng.uniform(0.3, 0.7) * (min(height, width) / width) * (max(tw, th) / min(tw, th))
    out_of_frame = rng.random() < 0.1
    if out_of_frame:
        tags.append("out_of_frame")
    corners = _project_document(rng, float(tw), float(th), width, height, float(target),
                                out_of_frame)
    if not out_of_frame and ((corners < 0).any() or (corners[:, 0] > width - 1).any()
                             or (corners[:, 1] > height - 1).any()):
        # Placed to fit, but larger than the frame (a large card turned upright is taller
        # than 720 px): it is out of frame all the same, and tagged so.
        tags.append("out_of_frame")
    if busy and not held:
        things = _desk_things(np.random.default_rng([seed, 1]), img, document, corners)
        tags.append("busy_desk")
        if "on_page" in things:
            tags.append("on_page")
    layer, alpha = _warp_document(document, corners, width, height)
    layer = _shade_layer(layer, alpha, rng, card)
    centre = corners.mean(axis=0)
    skin = _skin(rng)
    short_side = float(min(np.linalg.norm(corners[1] - corners[0]),
                           np.linalg.norm(corners[3] - corners[0])))

    if held:
        # Fingers behind the card show beyond its lower or side edge.
        edge = int(rng.integers(0, 4))
        a, b = corners[edge], corners[(edge + 1) % 4]
        outward = (a + b) / 2 - centre
        for _ in range(int(rng.integers(1, 4))):
            base = a + (b - a) * rng.uniform(0.2, 0.8) - outward * rng.uniform(0.05, 0.2)
            _draw_finger(img, rng, base, outward + rng.normal(0, 0.2, 2) * short_side,
                         short_side * rng.uniform(0.5, 0.9), short_side * rng.uniform(0.15, 0.22),
                         skin)
    if not held or rng.random() < 0.4:
        # The document casts a soft shadow on the desk, or on the body behind a held card
        # (further off and softer). The shadow is under the document, so the truth is unchanged.
        spread = 0.02 if not held else 0.04
        shift = rng.normal(0, spread, 2) * width
        mat = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
        blur = rng.uniform(3, 15) if not held else rng.uniform(10, 30)
        shadow = cv2.GaussianBlur(cv2.warpAffine(alpha[:, :, 0], mat, (width, height)), (0, 0),
                                  blur)
        img *= (1 - rng.uniform(0.2, 0.5) * np.asarray(shadow, np.float32))[:, :, None]

    shade = rng.uniform(0.75, 1.1)
    img = img * (1 - alpha) + layer * shade * alpha
    if rng.random() < 0.35:
        _glare(img, rng, corners, alpha[:, :, 0])
        tags.append("glare")
    fingers = 0
    if held:
        fingers = int(rng.integers(1, 3))
    elif rng.random() < 0.25:
        fingers = 1
    for _ in range(fingers):
        # A thumb pressed on the front crosses an edge from outside.
        edge = int(rng.integers(0, 4))
        a, b = corners[edge], corners[(edge + 1) % 4]
        point = a + (b - a) * rng.uniform(0.15, 0.85)
        inward = centre - point
        inward /= np.linalg.norm(inward) + 1e-9
        length = short_side * rng.uniform(0.3, 0.55)
        base = point - inward * length * rng.uniform(0.3, 0.6)
        _draw_finger(img, rng, base, inward + rng.normal(0, 0.25, 2), length,
                     short_side * rng.uniform(0.14, 0.22), skin)
        # The rest of the hand continues out of view behind the thumb.
        _draw_finger(img, rng, base - inward * length * 1.2, inward, length * 1.3,
                     short_side * 0.35, skin)
    if fingers:
        tags.append("fingers")
    if lens:
        img, seen = _barrel(img, corners, lens)
        assert seen is not None
        corners = seen
        tags.append("lens")
    image = _finish(img, rng, tags)
    return Scene(image, order_corners(corners), kind, seed, tuple(tags))


def scenes(positives: int, negatives: int, seed: int = 0, width: int = 1280,
           height: int = 720, busy: bool = False,
           backdrops: Sequence[Image] = (), lens: float = 0.0) -> Iterator[Scene]:
    """`positives` scenes with a document, then `negatives` without, each seeded from `seed`;
    with `busy`, desk scenes hold larger things too; with `backdrops`, every scene is set
    in front of one of those photographs; with `lens`, seen through a lens's barrel distortion
    (see `make_scene`)."""
    for i in range(positives):
        yield make_scene(seed * 100_003 + i, width, height, busy=busy, backdrops=backdrops,
                         lens=lens)
    for i in range(negatives):
        yield make_scene(seed * 100_003 + 50_000 + i, width, height, negative=True,
                         backdrops=backdrops, lens=lens)
