"""Fixtures for the whole suite."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

# The suites whose tests run aiortc peer connections.
_PEER_SUITES = ("booth", "browser")


@pytest.fixture(autouse=True)
def collect_peer_garbage(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test with peer connections, their garbage is collected at once.

    aiortc closes a peer connection whose DTLS transports all closed in a task of its own,
    which nothing awaits; where that close fails, the task's finalizer logs the error when
    the task is collected. Left to a later collection, that can run inside `ast.parse` in
    another test (hypothesis reads a test's source), where CPython 3.11.7 then raises
    "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905)."""
    yield
    if request.node.path.parent.name in _PEER_SUITES:
        gc.collect()
