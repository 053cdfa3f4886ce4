"""The on-disk cache of compiled objects: hits skip compilation; damaged files are ignored."""

from __future__ import annotations

import ctypes
import os

from xlc.backends.cpu.target import JitModule, ObjectCache

IR = """
define i32 @xlc_main(i32 %a) {
  %b = mul i32 %a, 3
  ret i32 %b
}
"""


def _call(jit: JitModule, x: int) -> int:
    return jit.cfunc("xlc_main", ctypes.c_int32, ctypes.c_int32)(x)


def test_second_load_comes_from_the_cache(tmp_path) -> None:
    cache = ObjectCache(str(tmp_path))
    first = JitModule(IR, cache)
    assert not first.from_cache and _call(first, 14) == 42
    second = JitModule(IR, cache)
    assert second.from_cache and _call(second, 5) == 15
    other = JitModule(IR.replace("mul i32 %a, 3", "mul i32 %a, 4"), cache)
    assert not other.from_cache and _call(other, 5) == 20


def test_damaged_or_truncated_entries_are_recompiled(tmp_path) -> None:
    cache = ObjectCache(str(tmp_path))
    JitModule(IR, cache)
    (path,) = [os.path.join(cache.directory, n) for n in os.listdir(cache.directory)]
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])  # as if a writer had died half way (renames make this impossible)
    again = JitModule(IR, cache)
    assert not again.from_cache and _call(again, 2) == 6
    assert not [n for n in os.listdir(cache.directory) if n.startswith(".tmp-")]


def test_disabled_cache_always_compiles() -> None:
    cache = ObjectCache(None)
    assert not JitModule(IR, cache).from_cache
    assert not JitModule(IR, cache).from_cache
