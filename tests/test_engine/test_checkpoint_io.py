# Copyright (c) sak_mm contributors. All rights reserved.
import os
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer

from sak_mm.engine import AtomicLocalBackend


def test_atomic_backend_replaces_whole_files_only(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'iter_10.pth'
    backend.put(b'old checkpoint', target)
    assert target.read_bytes() == b'old checkpoint'
    # a crash while writing leaves the previous file intact and no temp file
    with mock.patch('os.fsync', side_effect=OSError('disk full')):
        with pytest.raises(OSError, match='disk full'):
            backend.put(b'new but never finished', target)
    assert target.read_bytes() == b'old checkpoint'
    assert os.listdir(tmp_path) == ['iter_10.pth']
    backend.put_text('iter_10.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_10.pth'


def test_message_hub_state_loads_weights_only(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(np.float64(2.5), count=2)
    state = dict(
        message_hub=dict(log_scalars={'train/loss': buf},
                         runtime_info={'iter': 3, 'arr': np.arange(3)}),
        state_dict={'w': torch.ones(2)})
    path = tmp_path / 'ckpt.pth'
    torch.save(state, path)
    # no getattr (which would make weights-only loading unsafe) is needed
    assert 'builtins.getattr' not in \
        torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    loaded = torch.load(path, weights_only=True)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert restored.mean() == pytest.approx(buf.mean())
    assert restored.current() == 2.5
    np.testing.assert_array_equal(
        loaded['message_hub']['runtime_info']['arr'], np.arange(3))
