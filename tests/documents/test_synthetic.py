from __future__ import annotations

import numpy as np

from booth_client.documents.kinds import DOCUMENT_KINDS
from booth_client.documents.synthetic import make_scene, scenes
from booth_client.documents.templates import render_document


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
