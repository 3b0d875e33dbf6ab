# Copyright (c) sak_mm contributors. All rights reserved.
"""Crash-safe checkpoint writing, and checkpoint contents as plain data.

* :func:`write_atomic` and :class:`AtomicLocalBackend` write every file to a
  temporary name in the target folder, fsync it, rename it over the target
  and fsync the folder, so a crash mid-write never leaves a truncated file.
  ``SafeCheckpointHook`` (``configs/_base_/default_runtime.py``) writes
  checkpoints through it, then ``last_checkpoint``, and rotates last.
* :func:`to_plain` / :func:`from_plain` turn what mmengine stores beside
  the weights (the message hub's history buffers, numpy values) into plain
  lists and numbers and back, so ``torch.load(weights_only=True)`` reads
  new checkpoints without any allow-listed type
  (:class:`~sak_mm.engine.SAKRunner` applies them).

Checkpoints are read by :func:`sak_mm.utils.read_checkpoint`.
"""
import os
import os.path as osp
import re
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from mmengine.fileio import LocalBackend, register_backend


#: name of the temporary files :func:`write_atomic` leaves behind when killed
TEMP_SUFFIX = '.tmp'


def fsync_dir(folder: str) -> None:
    """Make a rename or unlink in ``folder`` durable (POSIX: fsync the
    directory; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(data: bytes, filepath: str) -> None:
    """Write ``data`` to ``filepath`` so that a crash leaves the old file or
    the new one, never a partial one: a temporary file in the same folder,
    fsync, rename over the target, fsync of the folder. The file gets the
    permissions a plain ``open(..., 'w')`` would (``0o666 & ~umask``)."""
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(filepath) + '.',
        suffix=TEMP_SUFFIX)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(folder)


def remove_stale_temps(folder: str) -> List[str]:
    """Delete the temporary files a killed :func:`write_atomic` left in
    ``folder``; returns their paths."""
    if not osp.isdir(folder):
        return []
    stale = [
        osp.join(folder, name) for name in os.listdir(folder)
        if name.startswith('.') and name.endswith(TEMP_SUFFIX)
    ]
    for path in stale:
        os.remove(path)
    return stale


_CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def list_checkpoints(folder: str) -> List[str]:
    """The ``iter_<n>.pth`` / ``epoch_<n>.pth`` files in ``folder``, oldest
    first (every one is complete: they are written atomically)."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        step = _step(path)
        if step >= 0 and osp.isfile(path):
            found.append((step, path))
    return [path for _, path in sorted(found)]


def _step(path: str) -> int:
    """The ``n`` of ``iter_<n>.pth`` / ``epoch_<n>.pth``, -1 for another
    name."""
    match = _CHECKPOINT_NAME.match(osp.basename(path))
    return int(match.group(1)) if match else -1


def resume_checkpoint(work_dir: str) -> Tuple[Optional[str], str, bool]:
    """The checkpoint ``--resume`` continues from, why, and whether that
    overrides what ``last_checkpoint`` says (worth a warning).

    It is the one ``last_checkpoint`` names, unless the work dir holds
    checkpoints of its own and that one is outside it (another run's) or
    older than the newest of them (a kill between a checkpoint and its
    ``last_checkpoint``): then the newest in the work dir. Without a usable
    ``last_checkpoint``, the newest checkpoint in ``work_dir``, else None.
    """
    found = list_checkpoints(work_dir)
    newest = found[-1] if found else None
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            said = f'last_checkpoint names {named}'
            if newest is None or osp.samefile(named, newest):
                return named, said, False
            if not osp.samefile(osp.dirname(osp.abspath(named)), work_dir):
                return newest, (f'{said}, outside the work dir {work_dir}: '
                                f'resuming from the newest checkpoint in it, '
                                f'{newest}, instead'), True
            if _step(newest) > _step(named):
                return newest, (f'{said}, but {newest} is newer: resuming '
                                f'from {newest} instead (to resume an older '
                                f'one, name it: --resume {named})'), True
            return named, said, False
        reason = ('last_checkpoint is empty' if not named else
                  f'last_checkpoint names {named}, which does not exist')
    else:
        reason = f'there is no last_checkpoint in {work_dir}'
    if newest:
        return newest, (f'{reason}; resuming from the newest checkpoint '
                        f'there, {newest}'), False
    return None, f'{reason} and no checkpoint to resume from', False


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """A local file backend whose writes are atomic and durable
    (:func:`write_atomic`)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomic(obj, str(filepath))

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


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
