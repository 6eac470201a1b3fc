import ctypes
import sys

import pytest

from tenshot.api import Pretrainer
from tenshot.training import engine
from tenshot.training.heap import keep_freed_memory

BLOCK = 20 << 20  # 20 MiB, about the ssgan's largest weight-normed weight (1000 x 5376 float32, 20.5 MiB)


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc >= 2.33)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def glibc():
    if not sys.platform.startswith("linux"):  # CDLL(None), the process's own C library, is POSIX only
        pytest.skip("needs Linux with glibc >= 2.33")
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("needs glibc >= 2.33")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    return libc


def test_large_blocks_come_from_the_heap_and_stay_there_when_freed():
    libc = glibc()
    assert keep_freed_memory()
    mapped = libc.mallinfo2().hblkhd
    block = libc.malloc(BLOCK)
    try:
        assert libc.mallinfo2().hblkhd == mapped  # not an mmap of its own, which free would unmap
    finally:
        libc.free(block)
    assert libc.mallinfo2().fordblks >= BLOCK  # kept as free heap for the next step, not trimmed


@pytest.mark.parametrize("reuse", [True, False])
def test_the_engine_tunes_the_heap_unless_told_not_to(monkeypatch, tiny_ds, reuse):
    calls = []
    monkeypatch.setattr(engine, "keep_freed_memory", lambda: calls.append(1) or True)
    fast = dict(epochs=1, batch_size=16, progress=False, accelerator="cpu", latent_dim=8, width=4)
    Pretrainer("autoencoder", reuse_heap=reuse, **fast).fit(tiny_ds.x_train)
    assert calls == ([1] if reuse else [])
