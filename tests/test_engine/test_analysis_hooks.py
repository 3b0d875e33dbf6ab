# Copyright (c) sak_mm contributors. All rights reserved.
"""RouterWeightsHook, RepSimilarityHook and MultiTaskVisualizationHook
inside real Runners on demo data."""
import json
import os
import os.path as osp
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('rooms')
    return str(make_demo_nyud(str(root), num_train=2, num_val=6, seed=5))


def demo_cfg(root, work_dir, hooks, build_teachers=False, batch_size=2):
    cfg = Config.fromfile(CONFIG)
    for split in ('val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = root
        loader.num_workers = 0
        loader.batch_size = batch_size
    cfg.train_dataloader.dataset.data_root = root
    cfg.work_dir = work_dir
    # visualizers are per-name singletons; runners started in the same second
    # would otherwise share one (and its save_dir)
    cfg.visualizer.name = work_dir
    cfg.model.build_teachers = build_teachers
    cfg.custom_hooks = hooks
    cfg.default_hooks.logger.interval = 1
    return cfg


def hook_of(runner, name):
    return [h for h in runner.hooks if type(h).__name__ == name][0]


def direct_gates(model, loader):
    """The model's own gate outputs, image by image."""
    gates = []
    model.eval()
    with torch.no_grad():
        for batch in loader:
            for s in model.test_step(batch):
                gates.append({t: g.numpy() for t, g in s.gate_scores.items()})
    return gates


def test_router_weights_hook_records_the_models_gates(rooms, tmp_path):
    cfg = demo_cfg(rooms, str(tmp_path),
                   [dict(type='RouterWeightsHook', per_image=True)])
    runner = SAKRunner.from_cfg(cfg)
    runner.test()
    with open(tmp_path / 'test_router_weights.json') as f:
        saved = json.load(f)
    assert saved['experts'] == ['tas', 'dinov2', 'clip', 'sam']
    assert saved['levels'] == [1, 2, 3, 4]  # blocks of the 4-block stem
    assert saved['num_images'] == 6 and len(saved['per_image']) == 6
    gates = direct_gates(runner.model, runner.test_dataloader)
    for task in ('semseg', 'depth', 'normals', 'edge'):
        stack = np.stack([g[task] for g in gates])  # images, levels, experts
        np.testing.assert_allclose(saved['tasks'][task]['mean'],
                                   stack.mean(0).T, atol=1e-5)
        np.testing.assert_allclose(saved['tasks'][task]['std'],
                                   stack.std(0).T, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(saved['tasks'][task]['mean']).sum(0), 1.0, atol=1e-4)
    # the means went to the visualizer backends as scalars
    scalars = [osp.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs
               if f == 'scalars.json']
    with open(scalars[0]) as f:
        logged = [json.loads(line) for line in f]
    key = 'router/edge/l3/sam'
    assert any(abs(r[key] - saved['tasks']['edge']['mean'][3][2]) < 1e-6
               for r in logged if key in r)


def test_router_hook_and_tool_refuse_models_without_routers(rooms, tmp_path):
    cfg = demo_cfg(rooms, str(tmp_path), [dict(type='RouterWeightsHook')])
    cfg.model.neck.mode = 'sum'
    with pytest.raises(RuntimeError, match='MoR routers'):
        SAKRunner.from_cfg(cfg).test()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _router_rank(rank, world, port, root, work_dir, out_file):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.registry import init_default_scope
    init_default_scope('sak_mm')
    cfg = demo_cfg(root, work_dir, [dict(type='RouterWeightsHook')],
                   batch_size=1)
    runner = SAKRunner.from_cfg(cfg)
    runner.test()
    summary = hook_of(runner, 'RouterWeightsHook').last_summary
    seen = len(runner.test_dataloader)
    with open(f'{out_file}.{rank}', 'w') as f:
        json.dump(dict(summary=summary, seen=seen), f)
    torch.distributed.destroy_process_group()


def test_router_weights_are_gathered_across_two_processes(rooms, tmp_path):
    out = str(tmp_path / 'rank')
    mp.spawn(_router_rank, args=(2, _free_port(), rooms, str(tmp_path), out),
             nprocs=2, join=True)
    ranks = []
    for r in range(2):
        with open(f'{out}.{r}') as f:
            ranks.append(json.load(f))
    assert [r['seen'] for r in ranks] == [3, 3]  # each rank saw half
    assert ranks[0]['summary']['num_images'] == 6  # but summarised all
    # identical to one process over the whole set
    single = SAKRunner.from_cfg(demo_cfg(
        rooms, str(tmp_path / 'single'), [dict(type='RouterWeightsHook')]))
    single.test()
    ref = hook_of(single, 'RouterWeightsHook').last_summary
    for task in ref['tasks']:
        np.testing.assert_allclose(ranks[0]['summary']['tasks'][task]['mean'],
                                   ref['tasks'][task]['mean'], atol=1e-5)


def test_rep_similarity_hook_is_one_minus_the_cosine_loss(rooms, tmp_path):
    cfg = demo_cfg(rooms, str(tmp_path), [dict(type='RepSimilarityHook')],
                   build_teachers=True, batch_size=1)
    runner = SAKRunner.from_cfg(cfg)
    runner.test()
    with open(tmp_path / 'test_rep_similarity.json') as f:
        saved = json.load(f)
    model = runner.model.eval()
    sims = {t: [] for t in model.teacher_models}
    with torch.no_grad():
        for batch in runner.test_dataloader:
            data = model.data_preprocessor(batch, False)
            aligned = model.backbone.align(model.backbone(data['inputs'])
                                           ['tsap'])
            for name, teacher in model.teacher_models.items():
                for s, t in zip(aligned[name], teacher(data['inputs'])):
                    cos = model.distill_loss(s, t)['cos'] / 0.9
                    sims[name].append(1 - cos.item())
    for name, values in sims.items():
        assert saved['teachers'][name]['mean'] == pytest.approx(
            np.mean(values), abs=1e-5)
    assert saved['overall'] == pytest.approx(
        np.mean([np.mean(v) for v in sims.values()]), abs=1e-5)
    assert saved['num_images'] == 6


def test_rep_similarity_needs_teachers(rooms, tmp_path):
    cfg = demo_cfg(rooms, str(tmp_path), [dict(type='RepSimilarityHook')])
    with pytest.raises(RuntimeError, match='needs the teachers'):
        SAKRunner.from_cfg(cfg).test()


def test_visualization_hook_draws_val_images_to_backends(rooms, tmp_path):
    cfg = demo_cfg(rooms, str(tmp_path), [])
    cfg.default_hooks.visualization = dict(
        type='MultiTaskVisualizationHook', draw=True, interval=1)
    runner = SAKRunner.from_cfg(cfg)
    runner.val()
    images = [f for d, _, fs in os.walk(tmp_path) for f in fs
              if f.endswith('.png')]
    assert len(images) == 3  # first sample of each of the 3 val batches
