"""``tf.summary.FileWriter``: TensorBoard event files.

A file ``events.out.tfevents.<unix time>.<hostname>[suffix]`` in ``logdir`` holds
TFRecord-framed Event protos, the first one ``file_version: "brain.Event:2"``.
Events are buffered and written by ``flush`` (called every ``flush_secs`` seconds by a
background thread, when ``max_queue`` events are pending, and by ``close``), so a
training loop does not wait on the disk.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from typing import Any

from xlc.frontend.graph import Graph
from xlc.frontend.summary.graph_def import graph_def as encode_graph_def
from xlc.frontend.summary.protos import Event, SessionLog
from xlc.frontend.summary.records import encode_record

FILE_VERSION = "brain.Event:2"


class FileWriter:
    """Writes Summary protos, graphs and other events to an event file in ``logdir``."""

    def __init__(self, logdir: str, graph: Graph | None = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: str | None = None, session: Any = None) -> None:
        self._logdir = str(logdir)
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = flush_secs
        self._suffix = filename_suffix or ""
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._closed = True
        self._file: Any = None
        self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self) -> None:
        os.makedirs(self._logdir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}{self._suffix}"
        path = os.path.join(self._logdir, name)
        n = 0
        while os.path.exists(path):  # two writers opened in one second must not share a file
            n += 1
            path = os.path.join(self._logdir, f"{name}.{n}")
        self._path = path
        self._file = open(path, "wb")
        self._closed = False
        self._stop = threading.Event()
        self._write_now(Event(wall_time=time.time(), file_version=FILE_VERSION))
        # the thread holds only a weak reference, so an unclosed writer can still be collected
        self._flusher = threading.Thread(target=_flush_periodically, args=(weakref.ref(self), self._stop,
                                                                           self._flush_secs),
                                         name="xlc-summary-flush", daemon=True)
        self._flusher.start()

    # --- adding events ------------------------------------------------------------------------------
    def add_event(self, event: Event | bytes) -> None:
        """Queue one Event (an :class:`Event` or its serialized bytes)."""
        data = event if isinstance(event, (bytes, bytearray)) else event.SerializeToString()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"FileWriter for {self._logdir} is closed")
            self._pending.append(encode_record(bytes(data)))
            full = len(self._pending) >= self._max_queue
        if full:
            self.flush()

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        """Add a Summary: the bytes ``sess.run(summary_op)`` returns, or a :class:`Summary` object."""
        if isinstance(summary, (bytes, bytearray)):
            summary = bytes(summary)
        elif hasattr(summary, "SerializeToString"):
            summary = summary.SerializeToString()
        else:
            raise TypeError(f"add_summary expects serialized Summary bytes or a Summary, got {type(summary)}")
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), summary=summary))

    def add_graph(self, graph: Graph | None, global_step: int | None = None, graph_def: Any = None) -> None:
        """Add ``graph`` as a GraphDef (TensorBoard's graph tab); ``graph_def`` may be serialized bytes."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        source = graph if graph is not None else graph_def
        if isinstance(source, Graph):
            data = encode_graph_def(source)
        elif isinstance(source, (bytes, bytearray)):
            data = bytes(source)
        else:
            raise TypeError(f"add_graph expects a tf.Graph or serialized GraphDef bytes, got {type(source)}")
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), graph_def=data))

    def add_session_log(self, session_log: SessionLog, global_step: int | None = None) -> None:
        self.add_event(Event(wall_time=time.time(), step=int(global_step or 0), session_log=session_log))

    # --- writing ----------------------------------------------------------------------------------
    def _write_now(self, event: Event) -> None:
        self._file.write(encode_record(event.SerializeToString()))
        self._file.flush()

    def flush(self) -> None:
        """Write the queued events to disk."""
        with self._lock:
            if self._file is None or self._file.closed:
                return
            if self._pending:
                self._file.write(b"".join(self._pending))
                self._pending.clear()
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file; ``reopen`` starts a new one."""
        if self._closed:
            return
        self._stop.set()
        self.flush()
        with self._lock:
            self._closed = True
            self._file.close()

    def reopen(self) -> None:
        """After ``close``: continue in a new event file in the same logdir."""
        if self._closed:
            self._open()

    def get_logdir(self) -> str:
        return self._logdir

    @property
    def path(self) -> str:
        """The event file being written."""
        return self._path

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: files may already be gone
            pass


def _flush_periodically(ref: weakref.ReferenceType[FileWriter], stop: threading.Event, secs: float) -> None:
    while not stop.wait(secs):
        writer = ref()
        if writer is None:
            return
        writer.flush()
        del writer


__all__ = ["FileWriter"]
