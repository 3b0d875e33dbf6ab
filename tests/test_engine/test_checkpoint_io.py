# Copyright (c) sak_mm contributors. All rights reserved.
import copyreg
import os
import os.path as osp
import pickle
import runpy
import shutil
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer

from sak_mm.engine import AtomicLocalBackend, from_plain, to_plain
from sak_mm.utils import load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
#: written by tools/train.py at 5a0146e (see tests/data/README.md)
OLD_CKPT = osp.join(ROOT, 'tests', 'data', 'demo_iter_2_5a0146e.pth')


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


def test_plain_state_round_trips_history_buffers():
    buf = HistoryBuffer(max_length=5)
    buf.update(1.5)
    buf.update(np.float64(2.5), count=2)
    state = dict(log_scalars={'train/loss': buf},
                 runtime_info={'iter': 3, 'arr': np.arange(3),
                               'lr': np.float32(0.5)})
    plain = to_plain(state)
    assert plain['runtime_info'] == {'iter': 3, 'arr': [0, 1, 2], 'lr': 0.5}
    restored = from_plain(plain)['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.max_length == 5
    assert restored.mean() == pytest.approx(buf.mean())
    assert restored.current() == 2.5
    assert from_plain({'log_scalars': {'x': buf}})['log_scalars']['x'] is buf


def test_old_checkpoints_load_only_inside_the_safe_context():
    """A checkpoint written by the code before plain-data saving holds
    mmengine and numpy types: torch refuses it weights-only, the scoped
    context reads it, and torch's allow list is the same afterwards."""
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(OLD_CKPT)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    assert 'builtins.getattr' not in unsafe
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(OLD_CKPT, weights_only=True)
    state = load_checkpoint_file(OLD_CKPT)
    assert state['meta']['iter'] == 2
    assert isinstance(state['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    # apis.init_model reads it through the same function, strictly
    from sak_mm.apis import init_model
    model = init_model(DEMO_CONFIG, OLD_CKPT, cfg_options={
        'model.backbone.stem.arch.embed_dims': 16,
        'model.backbone.stem.arch.feedforward_channels': 32,
        'model.backbone.stem.arch.num_heads': 2})
    torch.testing.assert_close(model.state_dict()['heads.edge.cls.weight'],
                               state['state_dict']['heads.edge.cls.weight'])
    # nothing stays allowed, or re-registered, after the read
    assert HistoryBuffer not in torch.serialization.get_safe_globals()
    assert HistoryBuffer not in copyreg.dispatch_table
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(OLD_CKPT, weights_only=True)


def test_resume_from_a_checkpoint_of_the_earlier_code(tmp_path):
    """``--resume`` continues the run of the fixture (2 iterations of the
    demo model with 16-wide stem, written at 5a0146e); the new checkpoint
    holds plain data only and the loss history goes on."""
    from sak_mm.datasets import make_demo_nyud
    rooms = make_demo_nyud(str(tmp_path / 'rooms'), num_train=8, num_val=4,
                           size=(60, 80), seed=1)
    work = tmp_path / 'work'
    work.mkdir()
    shutil.copy(OLD_CKPT, work / 'iter_2.pth')
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    overrides = [f'{k}={rooms}' for k in (
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')] + [
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'train_dataloader.batch_size=2',
        'model.backbone.stem.arch.embed_dims=16',
        'model.backbone.stem.arch.feedforward_channels=32',
        'model.backbone.stem.arch.num_heads=2', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1',
        'param_scheduler.0.end=3', 'default_hooks.logger.interval=1',
        'resume_allow_changes=True']  # one iteration more than saved
    with mock.patch.object(sys, 'argv', [
            'train.py', DEMO_CONFIG, '--work-dir', str(work), '--resume',
            '--cfg-options', *overrides]):
        runpy.run_path(osp.join(ROOT, 'tools', 'train.py'),
                       run_name='__main__')
    new = str(work / 'iter_3.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(new) == []
    state = torch.load(new, weights_only=True)
    assert state['meta']['iter'] == 3
    history = state['message_hub']['log_scalars']['train/loss']
    assert len(history['history_buffer']['logs']) == 3  # 2 resumed + 1
    old = load_checkpoint_file(OLD_CKPT)['message_hub']['log_scalars']
    assert history['history_buffer']['logs'][:2] == \
        old['train/loss'].data[0].tolist()
