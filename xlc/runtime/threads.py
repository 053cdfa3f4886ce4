"""A small pool of worker threads that run one native entry function together (SPMD).

Generated code splits each kernel's outer loop by thread id and synchronises with barriers
(see xlc.backends.cpu.codegen), so running a call on n threads means: hand every worker the
same arguments with its own thread id, run thread 0 on the caller's thread, wait for the rest.
ctypes releases the GIL around foreign calls, so the threads really run in parallel.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

from xlc.config import SETTINGS

EntryFn = Callable[..., int]


def default_num_threads() -> int:
    """Threads per call: XLC_NUM_THREADS, else the CPUs this process may use, at least 1."""
    if SETTINGS.num_threads:
        return SETTINGS.num_threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class WorkerPool:
    """``n - 1`` daemon workers; :meth:`run` executes ``entry(*args, tid, n, sync)`` on all n threads."""

    def __init__(self, num_threads: int) -> None:
        self.num_threads = num_threads
        self._lock = threading.Lock()  # one parallel call at a time
        self._job: tuple[EntryFn, tuple[Any, ...], Any] | None = None
        self._start = [threading.Semaphore(0) for _ in range(num_threads - 1)]
        self._done = threading.Semaphore(0)
        self._status = [0] * num_threads
        for t in range(1, num_threads):
            threading.Thread(target=self._work, args=(t,), name=f"xlc-worker-{t}", daemon=True).start()

    def _work(self, tid: int) -> None:
        while True:
            self._start[tid - 1].acquire()
            assert self._job is not None
            entry, args, sync = self._job
            self._status[tid] = entry(*args, tid, self.num_threads, sync)
            self._done.release()

    def run(self, entry: EntryFn, args: tuple[Any, ...], sync: Any) -> int:
        """Run on every thread; returns the first non-zero status, or 0."""
        with self._lock:
            self._job = (entry, args, sync)
            for s in self._start:
                s.release()
            self._status[0] = entry(*args, 0, self.num_threads, sync)
            for _ in self._start:
                self._done.acquire()
            self._job = None
            # 1: a thread failed (it wrote the error); 2: a thread stopped because another failed
            return 1 if 1 in self._status else max(self._status)


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool() -> WorkerPool | None:
    """The process-wide pool, or None on a single-CPU machine."""
    global _POOL
    n = default_num_threads()
    if n < 2:
        return None
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool(n)
    return _POOL
