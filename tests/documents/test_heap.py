"""The heap kept between frames (`detect.heap`): a frame's search reuses the memory the last
one freed instead of faulting fresh pages in, and a threshold the environment sets stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booth_client.documents.detect import heap

# A search of a 1280x720 frame with a document, on a worker thread as the kiosk runs it: the
# page faults of its thread while the same frame is searched again (after two warm-up runs).
_FAULTS = """
import resource
from concurrent.futures import ThreadPoolExecutor
import cv2
from booth_client.documents import detect_document
from booth_client.documents.synthetic import make_scene
cv2.setNumThreads(1)
image = make_scene(7, 1280, 720).image
def faults() -> int:
    for _ in range(2):
        detect_document(image)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(3):
        detect_document(image)
    return (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before) // 3
with ThreadPoolExecutor(1) as pool:
    print(pool.submit(faults).result())
"""

_ROOT = Path(__file__).resolve().parents[2]


def _faults_a_frame(env: dict[str, str]) -> int:
    done = subprocess.run([sys.executable, "-c", _FAULTS], cwd=_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's thresholds")
def test_a_frame_s_search_reuses_the_memory_the_last_one_freed() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")}
    kept = _faults_a_frame(env)
    # glibc's initial thresholds (128 KiB), set by the environment, which `keep_freed_memory`
    # leaves alone.
    default = _faults_a_frame(env | {"MALLOC_TRIM_THRESHOLD_": str(128 * 1024)})
    assert kept < 30
    assert default > 5 * max(kept, 10)


def test_thresholds_the_environment_sets_stand(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.setenv(name, "131072")
        assert heap.keep_freed_memory() is False
        monkeypatch.delenv(name)
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    assert heap.keep_freed_memory() is False
