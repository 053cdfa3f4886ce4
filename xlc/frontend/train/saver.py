"""``tf.train.Saver``: save and restore variables as safetensors checkpoints.

``save`` writes ``<save_path>[-<step>].safetensors`` (see
:mod:`xlc.frontend.train.checkpoint_format`) and returns the prefix
(``model.ckpt-100``), which ``restore`` and ``latest_checkpoint`` speak, as in TF.
Checkpoint keys are variable names without ``:0`` (``w``, ``w/Adam``), so a new graph
that names its variables the same way restores a checkpoint of another graph.

``restore`` checks every variable (present in the file, same dtype, compatible shape)
before it sets any: a failed restore leaves the session unchanged.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import InvalidArgumentError, NotFoundError
from xlc.frontend.graph import Tensor
from xlc.frontend.train import checkpoint_format as fmt
from xlc.frontend.train.checkpoint_format import CheckpointState
from xlc.frontend.variables import Variable, global_variables


def _as_variable(x: Any) -> Variable:
    if isinstance(x, Variable):
        return x
    if isinstance(x, Tensor) and getattr(x.op, "_variable", None) is not None:
        return x.op._variable
    raise TypeError(f"Saver: {x!r} is not a Variable")


def _named_variables(var_list: Any) -> dict[str, Variable]:
    """``{checkpoint key: variable}`` from a dict, a list, or None (all global variables)."""
    if var_list is None:
        var_list = global_variables()
    if isinstance(var_list, Mapping):
        return {str(k): _as_variable(v) for k, v in var_list.items()}
    named: dict[str, Variable] = {}
    for x in var_list:
        v = _as_variable(x)
        key = v.op.name
        if key in named and named[key] is not v:
            raise ValueError(f"At least two variables have the same name: {key}")
        named[key] = v
    return named


class Saver:
    """Saves and restores variables (TF1's ``tf.train.Saver`` API, safetensors files).

    ``max_to_keep``: how many recent checkpoints to keep; older ones are deleted when a
    new one is written.  None or 0 keeps every file (the state file then lists only the
    latest, as in TF).
    """

    def __init__(self, var_list: Sequence[Any] | Mapping[str, Any] | None = None, reshape: bool = False,
                 sharded: bool = False, max_to_keep: int | None = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                 name: str | None = None, restore_sequentially: bool = False, saver_def: Any = None,
                 builder: Any = None, defer_build: bool = False, allow_empty: bool = False,
                 write_version: Any = None, pad_step_number: bool = False, save_relative_paths: bool = False,
                 filename: str | None = None) -> None:
        # fixed now, as TF: a Saver made before the optimizer does not save its slots
        self._vars = _named_variables(var_list)
        if not self._vars and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._pad_step_number = pad_step_number
        self._last: list[str] = []

    # --- saving -----------------------------------------------------------------------------------
    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: str | None = None,
             meta_graph_suffix: str = "meta", write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False) -> str:
        """Write every variable's value; returns the checkpoint prefix (``save_path-<step>``).

        ``global_step`` is a number or a tensor/variable evaluated in ``sess``.  No meta
        graph is written (xlc rebuilds graphs from Python code).
        """
        if global_step is not None:
            step = int(global_step) if isinstance(global_step, (int, np.integer)) else int(sess.run(global_step))
            prefix = f"{save_path}-{step:08d}" if self._pad_step_number else f"{save_path}-{step}"
        else:
            prefix = save_path
        directory = os.path.dirname(os.path.abspath(prefix))
        if not os.path.isdir(directory):
            raise NotFoundError(None, None, f"Parent directory of {save_path} doesn't exist, can't save.")
        named = self._vars
        values = sess.variable_values(list(named.values()))
        fmt.write_checkpoint(prefix, dict(zip(named, values)))
        self._remember(prefix)
        if write_state:
            kept = self._last if self._max_to_keep else [prefix]
            fmt.write_state(directory, prefix, kept, latest_filename or fmt.STATE_FILENAME)
        return prefix

    def _remember(self, prefix: str) -> None:
        """Record ``prefix`` as the newest checkpoint; delete the files of those beyond max_to_keep."""
        if prefix in self._last:
            self._last.remove(prefix)
        self._last.append(prefix)
        if not self._max_to_keep:
            return
        while len(self._last) > self._max_to_keep:
            old = self._last.pop(0)
            try:
                os.remove(fmt.data_path(old))
            except FileNotFoundError:
                pass

    @property
    def last_checkpoints(self) -> list[str]:
        """The kept checkpoints this Saver wrote (or recovered), oldest first."""
        return list(self._last)

    def set_last_checkpoints(self, last_checkpoints: Sequence[str]) -> None:
        self._last = list(last_checkpoints)

    def recover_last_checkpoints(self, checkpoint_paths: Sequence[str]) -> None:
        """Adopt existing checkpoints (e.g. ``get_checkpoint_state(d).all_model_checkpoint_paths``)."""
        self._last = [p for p in checkpoint_paths if fmt.checkpoint_exists(p)]

    # --- restoring --------------------------------------------------------------------------------
    def restore(self, sess: Any, save_path: str | None) -> None:
        """Set the variables from checkpoint ``save_path``; all checked first, nothing changed on error.

        NotFoundError: no such checkpoint, or a variable is missing from it;
        InvalidArgumentError: a variable's dtype or shape differs from the saved tensor's.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not fmt.checkpoint_exists(save_path):
            raise NotFoundError(None, None, f"The passed save_path is not a valid checkpoint: {save_path}")
        saved = fmt.read_checkpoint(save_path)
        pairs = []
        for key, v in self._vars.items():
            if key not in saved:
                raise NotFoundError(None, v.op, f"Key {key} not found in checkpoint {save_path} (variable "
                                                f"'{v.op.name}' of shape {v.shape}, dtype {v.dtype.name})")
            arr = saved[key]
            if arr.dtype != v.dtype.np_dtype:
                raise InvalidArgumentError(None, v.op, f"Restoring variable '{v.op.name}' from checkpoint "
                                                       f"{save_path}: the checkpoint holds dtype {arr.dtype} "
                                                       f"(key {key}), the variable is {v.dtype.name}")
            if not v.shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(None, v.op, f"Restoring variable '{v.op.name}' from checkpoint "
                                                       f"{save_path}: the checkpoint holds shape "
                                                       f"{list(arr.shape)} (key {key}), the variable has "
                                                       f"shape {v.shape}")
            pairs.append((v, arr))
        sess.set_variable_values(pairs)

    def as_saver_def(self) -> None:
        return None


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> CheckpointState | None:
    """The state file of ``checkpoint_dir`` (paths made full), or None."""
    return fmt.read_state(checkpoint_dir, latest_filename or fmt.STATE_FILENAME)


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The prefix of the newest checkpoint in ``checkpoint_dir`` (from its state file), or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not fmt.checkpoint_exists(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    return fmt.checkpoint_exists(checkpoint_prefix)


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list[int]]]:
    """``[(key, shape)]`` of a checkpoint (a prefix, or a directory: its latest checkpoint)."""
    prefix = latest_checkpoint(ckpt_dir_or_file) if os.path.isdir(ckpt_dir_or_file) else ckpt_dir_or_file
    if prefix is None:
        raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {ckpt_dir_or_file}")
    return sorted((k, list(a.shape)) for k, a in fmt.read_checkpoint(prefix).items())


def load_variable(ckpt_dir_or_file: str, name: str) -> Any:
    """The saved value of one key."""
    prefix = latest_checkpoint(ckpt_dir_or_file) if os.path.isdir(ckpt_dir_or_file) else ckpt_dir_or_file
    if prefix is None:
        raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {ckpt_dir_or_file}")
    saved = fmt.read_checkpoint(prefix)
    if name.endswith(":0"):
        name = name[:-2]
    if name not in saved:
        raise NotFoundError(None, None, f"Key {name} not found in checkpoint {prefix}")
    return saved[name]


__all__ = ["Saver", "checkpoint_exists", "get_checkpoint_state", "latest_checkpoint", "list_variables",
           "load_variable"]
