# Copyright (c) sak_mm contributors. All rights reserved.
"""Crash-safe checkpoint writing and weights-only checkpoint reading.

* :class:`AtomicLocalBackend` writes every file to a temporary name in the
  target folder, flushes it to disk, then renames it over the target, so a
  crash mid-write never leaves a truncated checkpoint (or ``last_checkpoint``
  pointer). Use it with ``CheckpointHook(backend_args=dict(backend=
  'atomic_local'))`` (set in ``configs/_base_/default_runtime.py``).
* :func:`enable_safe_checkpoints` lets ``torch.load`` keep its
  ``weights_only=True`` default (torch >= 2.6) while reading what mmengine
  0.10 stores in a checkpoint's ``meta`` and ``message_hub``: it allow-lists
  those few data types instead of switching the safety off.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

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


def _reduce_history_buffer(buffer):
    """Pickle a HistoryBuffer as a constructor call on plain lists.

    mmengine's own state pickles the buffer's statistics methods as
    ``getattr(HistoryBuffer, 'min')``; allow-listing ``getattr`` would make
    weights-only loading unsafe, so the buffer is rebuilt from its data
    instead (built-in statistics are re-registered by its constructor).
    """
    logs, counts = buffer.data
    return type(buffer), (logs.tolist(), counts.tolist(), buffer.max_length)


def enable_safe_checkpoints() -> None:
    """Make mmengine checkpoints readable with weights-only ``torch.load``.

    Registers a plain-data pickling of ``HistoryBuffer`` (for checkpoints
    written from now on) and allow-lists, for ``weights_only=True``, the
    data-only types mmengine stores besides tensors: ``HistoryBuffer``,
    ``ConfigDict`` and numpy arrays/scalars. Idempotent.
    """
    import copyreg

    import numpy as np
    import torch
    from mmengine.config.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float64, np.float32, np.float16,
                                    np.int64, np.int32, np.uint8, np.bool_)
    ]
    torch.serialization.add_safe_globals(
        [HistoryBuffer, ConfigDict, np.ndarray, np.dtype, _reconstruct,
         scalar] + dtype_classes)
