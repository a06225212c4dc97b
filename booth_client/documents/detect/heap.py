"""The process's heap kept between frames, so the detector's working memory is not mapped afresh
for every frame.

Each frame's search allocates a few MB of arrays (the working frame's channels, gradients and
edges: about 2 MB at 320 px, 4.5 MB at the finer search's 480 px) and frees them when it ends. By
default glibc serves blocks of over 128 KB (a threshold that then follows the largest block freed)
with a fresh mapping each, and hands the heap's free top back to the kernel once it is over twice
that: the next frame faults every page of its arrays in again. In a process that runs the detector
alone, that was 190-360 page faults a 1280x720 frame, in a virtual machine 2-4 us each: 7-11 % of
the detector's time on the evaluation's photo scenes (the frames without a document, which also
take the finer search, lose the most: 15.4 -> 12.1 ms). How many depends on what else the process
allocates: in `scripts/eval_documents.py` the naive baseline, run in the same process, frees blocks
large enough to raise glibc's thresholds past the detector's arrays (3 faults a frame without this
module, 1 with it, and the same time); in a process that runs the detector alone, as the kiosk's
capture does, with each frame a new array or not, as above.

`keep_freed_memory` sets glibc's two thresholds (`mallopt`) so that blocks up to `MMAP_THRESHOLD`
come from the heap and up to `TRIM_THRESHOLD` of free heap is kept: 1-4 page faults a 1280x720
frame. The detector's package calls it once on import; it is process-wide, as the thresholds are.
It leaves them alone where the environment sets them (`MALLOC_MMAP_THRESHOLD_`,
`MALLOC_TRIM_THRESHOLD_` or glibc's tunables) and where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Final

# Blocks up to this size come from the heap (a 1280x720 colour frame is 2.6 MiB, a 4032x3024
# one's halving 8.7 MiB); glibc's own ceiling for it is 32 MiB on a 64-bit machine.
MMAP_THRESHOLD: Final = 32 * 1024 * 1024
# Free memory at the heap's top up to this size is kept for the next frame: a 1280x720 frame
# and both searches' arrays, or a 1920x1080 frame and the first search's. As few page faults a
# frame as with 64 MiB (3-4 at 1280x720, 11-12 at 720x1280, each frame a new array), and it
# bounds what each thread's heap holds between frames.
TRIM_THRESHOLD: Final = 16 * 1024 * 1024

# glibc's `mallopt` parameters (malloc.h).
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3

_SET_BY_ENVIRONMENT: Final = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_TUNABLES: Final = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to `MMAP_THRESHOLD` and `TRIM_THRESHOLD`; True
    where they were set, False where the C library is not glibc or the environment sets
    either threshold (that choice stands)."""
    if not sys.platform.startswith("linux"):
        return False
    if any(name in os.environ for name in _SET_BY_ENVIRONMENT):
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if any(name in tunables for name in _TUNABLES):
        return False
    try:
        libc = ctypes.CDLL(None)
        # (glibc's own symbol: musl has a `mallopt` that does nothing.)
        libc.gnu_get_libc_version  # noqa: B018
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # (Set the mmap threshold first: it also stops glibc from moving both thresholds itself.)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
