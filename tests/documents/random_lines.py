"""Lines and quads at random, for the tests of the profiles along lines and of what is read
along quads' sides."""

from __future__ import annotations

import numpy as np

from booth_client.documents.detect.edges import Work
from booth_client.documents.detect.profiles import Profiles, profiles


def random_lines(rng: np.random.Generator, n: int, width: int, height: int,
                 beyond: float = 0.0) -> np.ndarray:
    """`n` lines (a, b, c), a^2 + b^2 = 1, at any angle through points anywhere in a `width` x
    `height` frame and up to `beyond` of its size outside it."""
    angle = rng.uniform(0, 2 * np.pi, n)
    through = rng.uniform(-beyond, 1 + beyond, (n, 2)) * (width, height)
    a, b = np.cos(angle), np.sin(angle)
    return np.stack([a, b, -(a * through[:, 0] + b * through[:, 1])], axis=1)


def random_profiles(work: Work, rng: np.random.Generator, n: int) -> Profiles:
    """The profiles (all sampled) of `n` lines at random through the working frame `work`."""
    h, w = work.gray.shape
    return profiles(work, random_lines(rng, n, w, h), n)


def random_quads(rng: np.random.Generator, n: int, width: int, height: int) -> np.ndarray:
    """`n` quads (n, 4, 2) of any size (5 to 150 px across) and turn about centres anywhere in
    a `width` x `height` frame and up to 0.3 of its size outside it: some reach out of the
    frame, some lie wholly outside it."""
    centre = rng.uniform(-0.3, 1.3, (n, 1, 2)) * (width, height)
    turn = rng.uniform(0, np.pi, (n, 1))
    size = rng.uniform(5, 150, (n, 1, 2))
    angle = turn + np.array([0.0, 0.5, 1.0, 1.5]) * np.pi
    return np.stack([np.cos(angle), np.sin(angle)], axis=2) * size + centre
