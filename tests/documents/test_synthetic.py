from __future__ import annotations

import cv2
import numpy as np

from booth_client.documents.kinds import DOCUMENT_KINDS, ID1_CARD
from booth_client.documents.synthetic import make_scene, paste_document, scenes
from booth_client.documents.templates import RenderedDocument, render_document


def test_scenes_are_deterministic_per_seed() -> None:
    a, b = make_scene(42), make_scene(42)
    assert np.array_equal(a.image, b.image)
    assert a.quad is not None and b.quad is not None
    assert np.array_equal(a.quad, b.quad)
    assert not np.array_equal(make_scene(43).image, a.image)


def test_negatives_have_no_quad_and_positives_do() -> None:
    batch = list(scenes(4, 3, seed=7, width=640, height=360))
    assert [s.quad is None for s in batch] == [False] * 4 + [True] * 3
    assert all(s.image.shape == (360, 640, 3) for s in batch)


def test_documents_reaching_out_of_the_frame_are_tagged_so() -> None:
    # Seed-0 scene 285 (ktp) and scene 19 are placed "in frame" but larger than it.
    for seed in (19, 285, *range(8)):
        scene = make_scene(seed)
        assert scene.quad is not None
        outside = ((scene.quad < 0) | (scene.quad > [1279, 719])).any()
        assert outside == ("out_of_frame" in scene.tags), (seed, scene.quad, scene.tags)


def test_generator_covers_out_of_frame_and_hands() -> None:
    tags = [set(make_scene(s).tags) for s in range(40)]
    assert any("out_of_frame" in t for t in tags)
    assert any("fingers" in t for t in tags)
    out = next(make_scene(s) for s in range(40) if "out_of_frame" in make_scene(s).tags)
    assert out.quad is not None
    inside = ((out.quad >= 0) & (out.quad <= [1280, 720])).all(axis=1)
    assert not inside.all()


def test_every_kind_renders_with_mask() -> None:
    for kind in DOCUMENT_KINDS:
        doc = render_document(kind, 1)
        assert doc.image.shape[:2] == doc.mask.shape
        assert doc.mask.mean() > 240  # only card corners are rounded off


def test_desk_surfaces_include_paper_and_laminate() -> None:
    from booth_client.documents.synthetic import _laminate, _paper

    rng = np.random.default_rng(5)
    paper = _paper(rng, 90, 160)
    laminate = _laminate(rng, 90, 160)
    assert paper.shape == laminate.shape == (90, 160, 3)
    assert float(np.median(paper)) > 180  # a white sheet: the hard desk for a pale card
    assert np.isfinite(laminate).all()


def test_card_finish_keeps_the_card_shape() -> None:
    from booth_client.documents.synthetic import _card_finish

    card = render_document("ktp", 2)
    rng = np.random.default_rng(0)
    finishes = [_card_finish(card, rng) for _ in range(12)]
    for done in finishes:
        assert done.image.shape == card.image.shape
        assert np.array_equal(done.mask, card.mask)  # the outline (and so the truth) stays
        h, w = card.image.shape[:2]
        centre = (slice(h // 3, 2 * h // 3), slice(w // 3, 2 * w // 3))
        assert np.array_equal(done.image[centre], card.image[centre])
    # Some cards get a pale margin, some a darker rim, some neither.
    assert len({done.image[0, card.image.shape[1] // 2].tobytes() for done in finishes}) >= 2


def test_shading_touches_only_the_document() -> None:
    from booth_client.documents.synthetic import _shade_layer

    layer = np.full((60, 80, 3), 100.0, np.float32)
    alpha = np.zeros((60, 80, 1), np.float32)
    alpha[10:40, 20:70] = 1.0
    shaded = _shade_layer(layer, alpha, np.random.default_rng(1), card=True)
    outside = alpha[:, :, 0] == 0
    assert np.array_equal(shaded[outside], layer[outside])
    assert not np.array_equal(shaded[10:40, 20:70], layer[10:40, 20:70])


def test_pages_fit_a_portrait_frame() -> None:
    # Page scenes of a 720x1280 frame, which all reached out of it when pages were sized to the
    # frame's width (about 1.8 times the frame's height in a landscape frame).
    seeds = (7, 10, 16, 50, 57, 77, 92, 98, 117, 118)
    placed = [make_scene(s, 720, 1280) for s in seeds]
    assert all(s.kind in ("kk", "paklaring", "bank_book") for s in placed)
    # Out of frame is drawn for one scene in ten; the rest lie wholly in the frame.
    assert sum("out_of_frame" in s.tags for s in placed) <= 2


def test_busy_desk_adds_larger_things_and_keeps_the_scene() -> None:
    # Seed 114: a desk scene with an NPWP card lying on a printed sheet, a phone beside it.
    plain, busy = make_scene(114), make_scene(114, busy=True)
    assert plain.quad is not None and busy.quad is not None
    assert np.array_equal(plain.quad, busy.quad)
    assert plain.kind == busy.kind
    assert "busy_desk" in busy.tags and "on_page" in busy.tags
    assert "busy_desk" not in plain.tags
    # The things lie around (and under) the document; the card itself is drawn on top, so its
    # middle looks the same.
    changed = np.abs(busy.image.astype(int) - plain.image.astype(int)).max(axis=2) > 40
    assert changed.mean() > 0.1
    centre = np.round(busy.quad.mean(axis=0)).astype(int)
    y, x = centre[1], centre[0]
    patch = (slice(y - 5, y + 5), slice(x - 5, x + 5))
    assert np.abs(busy.image[patch].astype(int) - plain.image[patch].astype(int)).mean() < 12


def test_busy_desk_leaves_hand_held_scenes_alone() -> None:
    held = next(s for s in range(20) if "hand_held" in make_scene(s).tags)
    assert np.array_equal(make_scene(held).image, make_scene(held, busy=True).image)


def test_busy_desk_things_are_larger_than_a_card() -> None:
    from booth_client.documents.kinds import ID1_CARD
    from booth_client.documents.synthetic import _DESK_THINGS

    assert min(long * short for long, short in _DESK_THINGS.values()) > (
        2 * ID1_CARD.long_mm * ID1_CARD.short_mm)


def test_real_photographs_load_as_bgr_frames() -> None:
    from booth_client.documents.backdrops import PHOTOGRAPHS, real_photographs

    photos = real_photographs()
    assert len(photos) == len(PHOTOGRAPHS) == 12
    for photo in photos:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert min(photo.shape[:2]) >= 170
    # The coffee cup is on a brown wooden table: red above blue in BGR order.
    coffee = photos[PHOTOGRAPHS.index("coffee")].reshape(-1, 3).mean(axis=0)
    assert coffee[2] > coffee[0] + 20


def test_photo_backdrop_changes_only_the_background() -> None:
    from booth_client.documents.backdrops import real_photographs

    photos = real_photographs()
    kinds_of_scene = set()
    for seed in range(6):
        plain, photo = make_scene(seed), make_scene(seed, backdrops=photos)
        assert plain.quad is not None and photo.quad is not None
        assert np.array_equal(plain.quad, photo.quad) and plain.kind == photo.kind
        assert set(photo.tags) == {*plain.tags, "photo"}
        kinds_of_scene.add(plain.tags[0])
        # The document is drawn over the photograph as over the drawn desk: its middle is the
        # same up to the noise and compression of the finish; around it, the scene is new.
        centre = np.round(photo.quad.mean(axis=0)).astype(int)
        patch = (slice(centre[1] - 4, centre[1] + 4), slice(centre[0] - 4, centre[0] + 4))
        assert np.abs(photo.image[patch].astype(int) - plain.image[patch].astype(int)).mean() < 12
        outside = np.ones(photo.image.shape[:2], np.uint8)
        cv2.fillPoly(outside, [np.round(photo.quad).astype(np.int32)], 0)
        diff = np.abs(photo.image.astype(int) - plain.image.astype(int)).mean(axis=2)
        assert diff[outside > 0].mean() > 10
    assert kinds_of_scene == {"desk", "hand_held"}
    negative = make_scene(50_000, negative=True, backdrops=photos)
    assert negative.quad is None and "photo" in negative.tags
    # Same seed and photographs, same scene.
    again = make_scene(3, backdrops=photos), make_scene(3, backdrops=photos)
    assert np.array_equal(again[0].image, again[1].image)


def test_the_document_edge_lies_on_its_true_quad() -> None:
    """Half the document's opacity lies right on the ground-truth outline (pixel centres are
    whole numbers): the truth is not half a pixel off the drawn edge."""
    flat = RenderedDocument(np.full((252, 400, 3), 255, np.uint8),
                            np.full((252, 400), 255, np.uint8), "ktp", ID1_CARD)
    corners = np.array([[100.0, 100.0], [500.0, 100.0], [500.0, 352.0], [100.0, 352.0]])
    frame = paste_document(np.zeros((480, 640, 3), np.uint8), flat, corners)
    row, col = frame[200, :, 0].astype(float), frame[:, 300, 0].astype(float)
    for edge in (row[100], row[500], col[100], col[352]):
        assert abs(edge - 127.5) <= 1.0
    assert row[99] == 0 and row[101] == 255 and row[499] == 255 and row[501] == 0
    assert col[99] == 0 and col[101] == 255 and col[351] == 255 and col[353] == 0


def test_a_lens_bows_lines_and_moves_the_truth_with_them() -> None:
    from booth_client.documents.synthetic import _barrel

    # A white rectangle; its corners (pixel edges at .5) seen through the lens.
    image = np.zeros((720, 1280, 3), np.float32)
    image[200:521, 400:881] = 255.0
    corners = np.array([[399.5, 199.5], [880.5, 199.5], [880.5, 520.5], [399.5, 520.5]])
    seen, moved = _barrel(image, corners, 0.1)
    assert moved is not None
    centre = np.array([639.5, 359.5])
    for corner in moved:
        inward = (centre - corner) / np.linalg.norm(centre - corner)
        x, y = np.round(corner + 3 * inward).astype(int)
        assert seen[y, x, 0] > 200
        x, y = np.round(corner - 3 * inward).astype(int)
        assert seen[y, x, 0] < 50
    # The middle of the frame is magnified, its corners stay: the rectangle grows and its
    # straight top side bows up in the middle.
    assert (np.abs(moved - centre) > np.abs(corners - centre)).all()
    top = np.flatnonzero(seen[:, 640, 0] > 127)[0]
    assert top < min(moved[0, 1], moved[1, 1]) - 1
    frame_corners = np.array([[0.0, 0.0], [1279.0, 719.0], [639.5, 359.5]])
    assert np.allclose(_barrel(image, frame_corners, 0.1)[1], frame_corners)


def test_a_lens_changes_only_the_optics() -> None:
    plain, bent = make_scene(7), make_scene(7, lens=0.05)
    assert set(bent.tags) == {*plain.tags, "lens"}
    assert bent.kind == plain.kind and bent.quad is not None and plain.quad is not None
    assert not np.allclose(bent.quad, plain.quad)
    assert np.abs(bent.quad - plain.quad).max() < 40
    assert make_scene(7, lens=0.0).image.tobytes() == plain.image.tobytes()
