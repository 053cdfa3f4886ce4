"""Process-wide settings, read from the environment in this one place.

XLC_CACHE_DIR  where compiled objects are cached between processes (default:
               $XDG_CACHE_HOME/xlc or ~/.cache/xlc); "off" (or empty) disables the cache.
XLC_NUM_THREADS  threads per compiled call (default: the CPUs this process may use).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    cache_dir: str | None
    num_threads: int | None


def _read() -> Settings:
    raw = os.environ.get("XLC_CACHE_DIR")
    if raw is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache_dir: str | None = os.path.join(base, "xlc")
    elif raw.strip().lower() in ("", "off", "0", "none"):
        cache_dir = None
    else:
        cache_dir = raw
    threads = os.environ.get("XLC_NUM_THREADS")
    num_threads = int(threads) if threads and threads.strip().isdigit() and int(threads) > 0 else None
    return Settings(cache_dir, num_threads)


SETTINGS = _read()
