# Copyright (c) sak_mm contributors. All rights reserved.
"""Stage 1 (distillation on unlabelled images) feeds stage 2 (load_from)."""
import glob
import json
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.config import Config

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE1 = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_stage1_demo.py')
STAGE2 = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
ITERS = 40


def test_stage1_distils_and_initialises_stage2(tmp_path):
    root = make_demo_nyud(str(tmp_path / 'rooms'), num_train=8, num_val=2,
                          seed=4)
    work = str(tmp_path / 's1')
    argv = [
        'train.py', STAGE1, '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.num_workers=0', f'train_cfg.max_iters={ITERS}',
        f'param_scheduler.0.T_max={ITERS}', f'param_scheduler.0.end={ITERS}',
        f'default_hooks.checkpoint.interval={ITERS}',
        'default_hooks.logger.interval=1'
    ]
    with mock.patch.object(sys, 'argv', argv):
        runpy.run_path(osp.join(ROOT, 'tools', 'train.py'),
                       run_name='__main__')

    # only distillation losses, and they go down
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        logs = [json.loads(line) for line in f if '"loss"' in line]
    assert all(k.startswith(('distill.', 'loss', 'lr', 'grad', 'time',
                             'data_time', 'iter', 'step', 'epoch',
                             'memory', 'base_lr')) for r in logs for k in r)
    losses = [r['loss'] for r in logs]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])

    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert any(k.startswith('backbone.adapters.sam.') for k in state)
    assert any(k.startswith('backbone.aligners.dinov2.') for k in state)
    assert not any(k.startswith(('neck.', 'heads.')) for k in state)

    cfg = Config.fromfile(STAGE2)
    cfg.train_dataloader.dataset.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader.dataset.data_root = root
    cfg.work_dir = str(tmp_path / 's2')
    cfg.visualizer.name = cfg.work_dir
    cfg.load_from = ckpt
    runner = SAKRunner.from_cfg(cfg)
    runner.load_or_resume()
    model = runner.model
    for key in ('backbone.adapters.clip.3.up.weight',
                'backbone.out_norms.sam.2.weight',
                'backbone.stem.layers.1.attn.qkv.weight',
                'backbone.aligners.dinov2.0.weight'):
        torch.testing.assert_close(model.state_dict()[key], state[key])
    assert model.neck.routers['edge_0'].mlp[0].weight.abs().sum() > 0


def test_image_folder_dataset_errors(tmp_path):
    from sak_mm.registry import DATASETS
    with pytest.raises(FileNotFoundError, match='does not exist'):
        DATASETS.build(dict(type='ImageFolderDataset',
                            data_root=str(tmp_path), split='train'))
    (tmp_path / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match='no image found'):
        DATASETS.build(dict(type='ImageFolderDataset',
                            data_root=str(tmp_path), split='train'))
    (tmp_path / 'train' / 'n01').mkdir()
    from PIL import Image
    Image.new('RGB', (8, 6)).save(tmp_path / 'train' / 'n01' / 'a.JPEG')
    (tmp_path / 'list.txt').write_text('n01/a.JPEG 0\n')
    ds = DATASETS.build(dict(type='ImageFolderDataset',
                             data_root=str(tmp_path), split='train',
                             ann_file='list.txt'))
    assert ds.get_data_info(0)['img_path'].endswith('n01/a.JPEG')
