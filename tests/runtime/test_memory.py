"""Large results come from a pool: freed arrays give their memory back for the next run."""

from __future__ import annotations

import gc

import numpy as np

from xlc.runtime.memory import MIN_BYTES, BufferPool


def test_freed_block_is_reused_and_views_keep_it_alive() -> None:
    pool = BufferPool()
    a = pool.empty((MIN_BYTES // 4,), np.float32)
    addr = a.ctypes.data
    assert addr % 64 == 0 and a.flags.writeable and a.flags.c_contiguous
    a[:] = 3.0
    view = a[10:20]
    del a
    gc.collect()
    b = pool.empty((MIN_BYTES // 4,), np.float32)
    assert b.ctypes.data != addr  # the view still holds the first block
    b_addr = b.ctypes.data
    assert np.all(view == 3.0)
    del view, b
    gc.collect()
    c = pool.empty((MIN_BYTES // 8, 2), np.float32)  # same size, other shape: a reused block
    assert c.ctypes.data in (addr, b_addr)


def test_small_and_object_arrays_bypass_the_pool() -> None:
    pool = BufferPool()
    small = pool.empty((3, 4), np.float64)
    assert small.base is None and small.shape == (3, 4)
    obj = pool.empty((MIN_BYTES,), object)
    assert obj.dtype == object
