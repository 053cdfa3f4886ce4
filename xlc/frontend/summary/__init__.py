"""``tf.summary``: summary ops and TensorBoard event files (no protobuf or TensorBoard needed at run time)."""

from __future__ import annotations

from xlc.frontend.summary.protos import Event, HistogramProto, SessionLog, Summary
from xlc.frontend.summary.summary_ops import histogram, merge, merge_all, scalar
from xlc.frontend.summary.writer import FileWriter

__all__ = ["Event", "FileWriter", "HistogramProto", "SessionLog", "Summary", "histogram", "merge", "merge_all",
           "scalar"]
