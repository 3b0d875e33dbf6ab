# Copyright (c) sak_mm contributors. All rights reserved.
"""The README's main job, small: train the demo config with tools/train.py,
evaluate with tools/test.py, resume, and compare with the untrained model."""
import glob
import json
import os.path as osp
import runpy
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from tests.conftest import ROOT, run_tool

CONFIG = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
ITERS = 160


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('rooms')
    return str(make_demo_nyud(str(root), num_train=24, num_val=6, seed=3))


def overrides(root):
    """Config overrides of the small run, as a dict."""
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'train_dataloader.num_workers': 0,
        'val_dataloader.num_workers': 0,
        'test_dataloader.num_workers': 0,
        'train_cfg.max_iters': ITERS,
        'train_cfg.val_interval': ITERS,
        'param_scheduler.0.end': ITERS,
        'default_hooks.checkpoint.interval': ITERS // 4,
        'default_hooks.checkpoint.max_keep_ckpts': 3,
    }


def options(root):
    """The same overrides as ``--cfg-options`` arguments."""
    return [f'{k}={v}' for k, v in overrides(root).items()]



def untrained_metrics(root, work_dir):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(overrides(root))
    cfg.work_dir = work_dir
    cfg.model.build_teachers = False
    return SAKRunner.from_cfg(cfg).test()


def test_demo_train_test_resume(rooms, tmp_path, capsys):
    work = str(tmp_path / 'work')
    before = untrained_metrics(rooms, str(tmp_path / 'before'))

    run_tool('train.py', CONFIG, '--work-dir', work, '--cfg-options',
             *options(rooms))
    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    state = torch.load(ckpt, weights_only=True)  # safe loading works
    assert not any('teacher' in k for k in state['state_dict'])
    assert state['meta']['iter'] == ITERS
    # the SAK configs record the routers' gate scores at every validation
    with open(osp.join(work, 'val_router_weights.json')) as f:
        assert json.load(f)['num_images'] == 6

    out = str(tmp_path / 'metrics.json')
    run_tool('test.py', CONFIG, ckpt, '--work-dir', work, '--out', out,
             '--cfg-options', *options(rooms))
    with open(out) as f:
        after = json.load(f)
    print('demo before:', before, '\ndemo after:', after)
    # mIoU over all 40 NYUD classes, absent ones as 0 (the standard
    # protocol): the rooms hold 12, so +5 is about +17 over those present
    assert after['semseg/mIoU'] > before['semseg/mIoU'] + 5
    # depth starts far from the rooms' 2-7 m and moves slowest in 160 steps
    assert after['depth/RMSE'] < 0.9 * before['depth/RMSE']
    assert after['normals/mErr'] < 0.8 * before['normals/mErr']
    # the trained model finds the rooms' boundaries
    assert after['edge/odsF'] > before['edge/odsF'] + 10

    # resume from the last checkpoint but one and finish the schedule again
    run_tool('train.py', CONFIG, '--work-dir', work, '--resume',
             osp.join(work, f'iter_{3 * ITERS // 4}.pth'), '--cfg-options',
             *options(rooms))
    resumed = torch.load(ckpt, weights_only=True)
    assert resumed['meta']['iter'] == ITERS
    assert resumed['meta']['time'] != state['meta']['time']  # rewritten
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
    with open(logs[-1]) as f:
        assert f'resumed epoch: 0, iter: {3 * ITERS // 4}' in f.read()

    # the runs' scalar logs read back as a user does: the glob catches the
    # training run, the test run (no training scalars) and the resumed run
    scalars = sorted(glob.glob(osp.join(work, '*', 'vis_data',
                                        'scalars.json')))
    assert len(scalars) == 3
    curves = str(tmp_path / 'curves.png')
    capsys.readouterr()
    run_tool('analysis/analyze_logs.py', 'plot_curve', *scalars, '--keys',
             'loss', 'semseg/mIoU', '--out', curves)
    assert osp.getsize(curves) > 0
    assert f'{scalars[1]} logs none of' in capsys.readouterr().out
    tool = runpy.run_path(osp.join(ROOT, 'tools', 'analysis',
                                   'analyze_logs.py'))
    records = tool['load_scalars'](scalars[0])
    trained = [r for r in records if 'loss' in r]
    fig = tool['plot_curve']({('run', scalars[0]): records},
                             ['decode.semseg.loss_ce'],
                             str(tmp_path / 'ce.png'))
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [r['step'] for r in trained]
    assert list(line.get_ydata()) == [r['decode.semseg.loss_ce']
                                      for r in trained]
    run_tool('analysis/analyze_logs.py', 'cal_train_time', scalars[0])
    mean = sum(r['time'] for r in trained[1:]) / (len(trained) - 1)
    assert f'{mean:.4f} s/iter' in capsys.readouterr().out


def test_bf16_amp_trains_and_resumes_without_a_loss_scaler(rooms, tmp_path):
    """``--amp bf16`` (the GPU configs' default): mmengine's AmpOptimWrapper
    with the scaler disabled steps, checkpoints and resumes. Its GPU-only
    assertion is lifted, so the CPU runs the same wrapper code under CPU
    autocast."""
    work = str(tmp_path / 'work')
    short = {**overrides(rooms), 'train_cfg.max_iters': 4,
             'train_cfg.val_interval': 100, 'param_scheduler.0.end': 4,
             'default_hooks.checkpoint.interval': 2}
    args = ['--work-dir', work, '--amp', 'bf16', '--cfg-options',
            *[f'{k}={v}' for k, v in short.items()]]
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    with mock.patch.object(amp_optimizer_wrapper, 'is_cuda_available',
                           return_value=True):
        run_tool('train.py', CONFIG, *args)
        first = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
        assert first['optimizer']['loss_scaler'] == {}  # disabled scaler
        run_tool('train.py', CONFIG, '--resume', osp.join(work, 'iter_2.pth'),
                 *args)
    resumed = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    assert resumed['meta']['iter'] == 4
    assert resumed['meta']['time'] != first['meta']['time']
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
    with open(logs[-1]) as f:
        log = f.read()
    assert 'resumed epoch: 0, iter: 2' in log and 'AmpOptimWrapper' in log
    for name, value in resumed['state_dict'].items():
        assert torch.isfinite(value.float()).all(), name


def test_auto_scale_lr_scales_from_the_references_batch(rooms, tmp_path):
    """``--auto-scale-lr``: the lr of the configs is the reference's for a
    batch of 4 (2 GPUs x 2); a run with 2 images trains at half of it."""
    work = str(tmp_path / 'work')
    short = {**overrides(rooms), 'train_cfg.max_iters': 1,
             'train_cfg.val_interval': 100, 'param_scheduler.0.end': 1,
             'train_dataloader.batch_size': 2}
    run_tool('train.py', CONFIG, '--work-dir', work, '--auto-scale-lr',
             '--cfg-options', *[f'{k}={v}' for k, v in short.items()])
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
    with open(logs[-1]) as f:
        log = f.read()
    assert ('LR is set based on batch size of 4 and the current batch size '
            'is 2. Scaling the original LR by 0.5.') in log
    state = torch.load(osp.join(work, 'iter_1.pth'), weights_only=True)
    group = state['optimizer']['param_groups'][0]
    assert group['initial_lr'] == pytest.approx(5e-4)  # 1e-3 x 2 / 4
