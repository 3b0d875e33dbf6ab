# Copyright (c) sak_mm contributors. All rights reserved.
"""Crash-safe checkpoint writing and weights-only checkpoint reading.

* :class:`AtomicLocalBackend` writes every file to a temporary name in the
  target folder, flushes it to disk, then renames it over the target, so a
  crash mid-write never leaves a truncated checkpoint. Use it with
  ``CheckpointHook(backend_args=dict(backend='atomic_local'))`` (set in
  ``configs/_base_/default_runtime.py``).
* :func:`to_plain` / :func:`from_plain` turn what mmengine stores beside
  the weights (the message hub's history buffers, numpy values) into plain
  lists and numbers and back, so ``torch.load`` reads new checkpoints with
  its ``weights_only=True`` default (torch >= 2.6) and no allow-listed type
  (:class:`~sak_mm.engine.SAKRunner` applies them).
* :func:`load_checkpoint_file` / :func:`safe_loading` read checkpoints
  weights-only, allow-listing, for the duration of the read only, the few
  data types older sak_mm checkpoints hold.
"""
import contextlib
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """A local file backend whose writes are atomic (temp file + rename)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix='.' + osp.basename(filepath) + '.',
            suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _numpy_types() -> list:
    """The numpy globals a pickled array or scalar refers to."""
    import numpy as np
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float64, np.float32, np.float16,
                                    np.int64, np.int32, np.uint8, np.bool_)
    ]
    return [np.ndarray, np.dtype, _reconstruct, scalar] + dtype_classes


@contextlib.contextmanager
def safe_loading():
    """Inside, ``torch.load`` (``weights_only=True``, torch's default) also
    reads the few data-only types that checkpoints written by sak_mm before
    plain-data saving hold: mmengine's ``HistoryBuffer`` (pickled as a
    constructor call on lists, never as ``getattr``), ``ConfigDict`` and
    numpy arrays and scalars. Nothing changes outside the context."""
    from mmengine.config.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    with torch.serialization.safe_globals([HistoryBuffer, ConfigDict] +
                                          _numpy_types()):
        yield


def load_checkpoint_file(filename: str, map_location='cpu') -> dict:
    """Read a checkpoint (a local path or any location mmengine reads)
    weights-only, within :func:`safe_loading`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    with safe_loading():
        return CheckpointLoader.load_checkpoint(filename, map_location)


def to_plain(obj):
    """``obj`` with numpy arrays and scalars turned into Python lists and
    numbers and mmengine history buffers into
    ``{'history_buffer': {'logs', 'counts', 'max_length'}}``: data that
    ``torch.load(weights_only=True)`` reads without allow-listing any
    type."""
    from mmengine.logging import HistoryBuffer
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {'history_buffer': dict(logs=logs.tolist(),
                                       counts=counts.tolist(),
                                       max_length=obj.max_length)}
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    if isinstance(obj, dict):  # ConfigDicts and other subclasses: dicts
        items = {k: to_plain(v) for k, v in obj.items()}
        return OrderedDict(items) if isinstance(obj, OrderedDict) else items
    if isinstance(obj, (list, tuple)):
        items = [to_plain(v) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return obj


def from_plain(obj):
    """Undo :func:`to_plain` for history buffers (numpy values stay Python
    values); ``HistoryBuffer`` objects read from older files pass as they
    are."""
    from mmengine.logging import HistoryBuffer
    if isinstance(obj, dict):
        if set(obj) == {'history_buffer'}:
            return HistoryBuffer(**{
                'log_history': obj['history_buffer']['logs'],
                'count_history': obj['history_buffer']['counts'],
                'max_length': obj['history_buffer']['max_length']})
        items = {k: from_plain(v) for k, v in obj.items()}
        return OrderedDict(items) if isinstance(obj, OrderedDict) else items
    return obj
