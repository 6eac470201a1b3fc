"""Keep freed heap memory in the process, so the next training step reuses it.

A CPU training step allocates and frees the same large tensors every step (activations,
gradients, weight-normed weights: megabytes to tens of megabytes each). By default glibc
serves blocks above its mmap threshold with ``mmap`` and unmaps them when they are
freed, and trims free memory at the top of the heap back to the kernel, so every step
faults the same pages in again and the kernel zero-fills them. Raising both thresholds
(``mallopt``, the same as the ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``
environment variables) makes freed blocks stay in the heap for reuse. On 2 CPU cores
that makes the ssgan's MLP on 5376 rotation features (issue 4's route, 1000 x 5376
first-layer weights) 1.10x faster per epoch and leaves the pixel ssgan and the rotation
net as they were (1.0x; ``benchmarks/heap.py``), with the same losses bit for bit; the
route's 30-epoch ssgan on 60k images took 1756 s against 1970 s, to the same weights
byte for byte. The price: the process keeps its peak heap until it exits.
"""

from __future__ import annotations

import ctypes
import functools
import sys

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's largest mmap threshold on 64-bit hosts (HEAP_MAX_SIZE / 2); larger values are refused.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (once); True when applied.

    False where there is nothing to tune: not Linux, or a C library without glibc's
    ``mallopt`` (musl), or one that refuses the values. Not undone within the process."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)  # the C library already loaded into this process
    if not hasattr(libc, "gnu_get_libc_version"):  # mallopt's thresholds are glibc's
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
