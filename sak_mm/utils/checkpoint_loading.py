# Copyright (c) sak_mm contributors. All rights reserved.
"""Weights-only checkpoint reading.

:func:`read_checkpoint` reads a checkpoint with ``weights_only=True``
passed explicitly (so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in a user's
environment cannot turn a downloaded file into code execution), inside
:func:`safe_loading`, which allow-lists, for the duration of the read only,
the few data types that checkpoints of older sak_mm code and of plain
mmengine programs hold. Importing this module makes it mmengine's
checkpoint loader for local files, http(s) URLs and s3 paths
(:func:`register_weights_only_loaders`), so every checkpoint the toolbox
reads (``--resume``, ``load_from``, ``tools/test.py``, ``init_model``,
``init_cfg=dict(type='Pretrained')``) goes through it; mmengine's alias
schemes (``open-mmlab://`` ...) are refused.
"""
import contextlib
import io
import os
import os.path as osp
import pickle
import re
from typing import Optional
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import CheckpointLoader


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


def _history_buffer_method(owner, name: str):
    """Stands in for ``builtins.getattr`` while unpickling: mmengine's
    ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; that, and nothing else, is
    resolved."""
    from mmengine.logging import HistoryBuffer
    known = {'min', 'max', 'current', 'mean'} | set(
        HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in known:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}): a checkpoint may only '
        'name the statistics methods of mmengine\'s HistoryBuffer')


@contextlib.contextmanager
def safe_loading():
    """Inside, ``torch.load(weights_only=True)`` also reads the data-only
    types that checkpoints of sak_mm before plain-data saving and of plain
    mmengine programs hold: mmengine's ``HistoryBuffer`` and the
    statistics methods it names (through ``getattr``, which
    :func:`_history_buffer_method` restricts to them), ``ConfigDict`` and
    numpy arrays and scalars. Nothing changes outside the context."""
    from mmengine.config.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    with torch.serialization.safe_globals(
        [HistoryBuffer, ConfigDict, (_history_buffer_method,
                                     'builtins.getattr')] + _numpy_types()):
        yield


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that a weights-only read refuses."""


def read_checkpoint(source, map_location='cpu', name: Optional[str] = None):
    """``torch.load(source, weights_only=True)`` within :func:`safe_loading`.

    Args:
        source: A path or a binary file object.
        map_location: As :func:`torch.load`'s.
        name: What to call ``source`` in errors (defaults to ``source``).

    Raises:
        RuntimeError: The file is not a complete checkpoint (e.g. a
            truncated download), naming it.
        UnsafeCheckpointError: The file names a type or function outside
            the allow list (e.g. a pickled custom class): the message names
            the file and the global, and the file is not read with
            ``weights_only=False``, which would run code from it.
    """
    name = name or str(source)
    try:
        with safe_loading():
            return torch.load(
                source, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError) as err:  # not a (complete) checkpoint
        raise RuntimeError(f'{name}: could not read this checkpoint (is the '
                           f'file complete?): {err}') from err
    except pickle.UnpicklingError as err:
        detail = re.search(r'WeightsUnpickler error: (.*?)(\n\nCheck the|$)',
                           str(err), re.S)
        detail = detail.group(1).strip() if detail else str(err)
        found = re.search(r'GLOBAL (\S+)', detail)
        if found:
            detail = f'it names the global {found.group(1)}'
        raise UnsafeCheckpointError(
            f'{name}: a weights-only read refuses this checkpoint ({detail}). '
            'sak_mm reads tensors, containers, numbers, numpy arrays and '
            'mmengine\'s logging state, and never unpickles a checkpoint '
            'with weights_only=False (that would run code from the file). '
            'If you trust the file, re-save the weights alone: '
            "torch.save({'state_dict': ckpt['state_dict']}, new_path).") \
            from err


def load_checkpoint_file(filename: str, map_location='cpu') -> dict:
    """Read a checkpoint (a local path or any location mmengine reads)
    with :func:`read_checkpoint`."""
    return CheckpointLoader.load_checkpoint(filename, map_location)


def load_from_local(filename: str, map_location=None):
    """A local file (mmengine logs each loader by its name after
    ``load_from_``: 'local')."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return read_checkpoint(filename, map_location)


def cached_download(url: str, model_dir: Optional[str] = None,
                    progress: bool = False) -> str:
    """The local copy of ``url`` in ``model_dir`` (torch's hub checkpoint
    folder by default), downloaded if it is not there yet."""
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return cached


def load_from_http(filename: str, map_location=None, model_dir=None,
                   progress=False):
    """Download once (rank 0 first, as mmengine does) into torch's hub
    cache, then read the cached file."""
    rank, world_size = get_dist_info()

    def fetch():
        return read_checkpoint(cached_download(filename, model_dir, progress),
                               map_location, name=filename)

    if rank == 0:
        checkpoint = fetch()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = fetch()
    return checkpoint


def load_from_ceph(filename: str, map_location=None, backend='petrel'):
    """An ``s3://`` / ``petrel://`` path, read into memory through
    mmengine's file backend."""
    file_backend = get_file_backend(
        filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return read_checkpoint(buffer, map_location, name=filename)


def load_from_alias(filename: str, map_location=None):
    """mmengine's model-zoo aliases, refused (their loaders call a bare
    ``torch.load``)."""
    raise ValueError(
        f'{filename}: sak_mm reads checkpoints from local files, http(s) '
        'URLs and s3 paths only (weights-only); give the file\'s URL or a '
        'downloaded copy instead of the alias')


def register_weights_only_loaders() -> None:
    """Make :func:`read_checkpoint` the reader behind mmengine's
    ``CheckpointLoader`` (which calls ``torch.load`` without
    ``weights_only``) for every scheme it knows."""
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    CheckpointLoader.register_scheme(('http://', 'https://'), load_from_http,
                                     force=True)
    CheckpointLoader.register_scheme(
        [r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], load_from_ceph, force=True)
    CheckpointLoader.register_scheme(
        ('modelzoo://', 'torchvision://', 'open-mmlab://', 'openmmlab://',
         'mmcls://', 'pavi://'), load_from_alias, force=True)


register_weights_only_loaders()
