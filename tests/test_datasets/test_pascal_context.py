# Copyright (c) sak_mm contributors. All rights reserved.
import os
from unittest import mock

import numpy as np
import pytest
import torch

from sak_mm.registry import DATASETS
from tests.test_datasets.pascal_fixture import make_pascal

PIPELINE = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='PackMultiTaskInputs')
]


@pytest.fixture(scope='module')
def pascal_root(tmp_path_factory):
    return make_pascal(str(tmp_path_factory.mktemp('pascal')))


def build(root, **kwargs):
    cfg = dict(type='PascalContextDataset', data_root=root, split='val',
               pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_all_five_tasks_decode_from_the_release_formats(pascal_root):
    ds = build(pascal_root)
    assert len(ds) == 3
    gt = ds[0]['data_samples'].gt
    assert set(gt.keys()) == {'semseg', 'human_parts', 'sal', 'normals',
                              'edge'}
    assert gt.semseg[0, 20, 20] == 15 and gt.semseg[0, 0, 45] == 3
    parts = gt.human_parts[0]
    assert parts[11, 20] == 1  # head group
    assert parts[20, 20] == 2  # torso group
    assert parts[29, 13] == 6  # left foot -> lower legs/feet group
    assert parts[0, 0] == 0  # background of a person image is valid
    sal = gt.sal[0]
    assert sal.dtype == torch.int64
    assert sal[20, 20] == 1 and sal[0, 0] == 0 and sal[35, 35] == 0
    n = gt.normals
    assert n[:, 3, 3].abs().sum() == 0  # sky: not an NYUD class
    torch.testing.assert_close(n[:, 20, 3],
                               torch.tensor([2 * 128 / 255 - 1] * 2 + [1.]))
    assert n[:, 10, 50].abs().sum() > 0  # tvmonitor is added by hand


def test_human_parts_without_annotated_people_are_ignored(pascal_root):
    ds = build(pascal_root, tasks=['human_parts'], only_with_people=False)
    for i in (1, 2):  # person without parts; no person
        parts = ds[i]['data_samples'].gt.human_parts
        assert (parts == 255).all()


def test_boundaries_are_thin_label_map_transitions(pascal_root):
    ds = build(pascal_root, tasks=['edge'])
    edge = ds[0]['data_samples'].gt.edge[0].numpy()
    # the wall/floor transition at row 25 gives a one-pixel-wide line
    column = edge[15:35, 30]
    assert column.sum() == 1 and column[9:11].sum() == 1
    assert set(np.unique(edge)) == {0.0, 1.0}


def test_crops_without_people_ignore_human_parts(pascal_root):
    from sak_mm.datasets.transforms import (LoadDenseAnnotations, LoadImage,
                                            PackMultiTaskInputs)
    info = build(pascal_root, tasks=['human_parts']).get_data_info(0)
    results = LoadDenseAnnotations()(LoadImage()(dict(info)))
    # the top-left 8x8 corner of image 0 holds no body part
    results['img'] = results['img'][:8, :8]
    results['gt_fields'] = {
        k: v[:8, :8] for k, v in results['gt_fields'].items()
    }
    packed = PackMultiTaskInputs()(results)
    assert (packed['data_samples'].gt.human_parts == 255).all()


def test_sak_trains_and_evaluates_on_pascal_context(pascal_root, tmp_path):
    """Two iterations and a test of a tiny SAK with the five PASCAL heads
    through mmengine's Runner, with the config's evaluator."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from tests.conftest import CROP, tiny_sak_cfg
    configs = os.path.join(os.path.dirname(__file__), '..', '..', 'configs',
                           '_base_')
    base = Config.fromfile(os.path.join(configs, 'datasets',
                                        'pascal_context.py'))
    tasks = Config.fromfile(os.path.join(configs, 'tasks',
                                         'pascal_context.py'))
    loader = dict(batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(type='PascalContextDataset',
                               data_root=pascal_root, split='val',
                               pipeline=base.test_pipeline))
    train = dict(loader, sampler=dict(type='InfiniteSampler'),
                 dataset=dict(loader['dataset'], split='train', pipeline=[
                     dict(type='LoadImage'),
                     dict(type='LoadDenseAnnotations'),
                     dict(type='RandomCrop', crop_size=CROP,
                          cat_max_ratio=0.75),
                     dict(type='RandomHorizontalFlip', prob=0.5),
                     dict(type='PackMultiTaskInputs')]))
    references = tasks.pascal_vitl_references.to_dict()
    evaluator = dict(base.val_evaluator.to_dict(), reference=references)
    evaluator['task_metrics']['edge']['num_workers'] = 0
    test_evaluator = dict(base.test_evaluator.to_dict(), reference=references)
    test_evaluator['task_metrics']['edge']['num_workers'] = 0
    runner = Runner(
        model=tiny_sak_cfg(heads=tasks.pascal_heads.to_dict()),
        work_dir=str(tmp_path),
        train_dataloader=train,
        val_dataloader=loader, val_cfg=dict(type='ValLoop'),
        val_evaluator=evaluator,
        test_dataloader=loader, test_cfg=dict(type='TestLoop'),
        test_evaluator=test_evaluator,
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-4)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2,
                       val_interval=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        visualizer=dict(type='MultiTaskVisualizer', name=str(tmp_path)),
        default_scope='sak_mm')
    runner.train()
    metrics = runner.test()
    for key in ('semseg/mIoU', 'human_parts/mIoU', 'sal/maxF', 'sal/mIoU',
                'normals/mErr', 'edge/odsF', 'mtl/delta_m'):
        assert key in metrics and np.isfinite(metrics[key])


def test_missing_files_and_json_are_reported(pascal_root, tmp_path):
    import shutil
    broken = str(tmp_path / 'p')
    shutil.copytree(pascal_root, broken)
    os.remove(os.path.join(broken, 'json', 'nyu_classes.json'))
    with pytest.raises(FileNotFoundError, match='nyu_classes.json'):
        build(broken)
    assert len(build(broken, tasks=['semseg'])) == 3
    os.remove(os.path.join(broken, 'sal_distill', '2008_000002.png'))
    with pytest.raises(FileNotFoundError, match='2008_000002.png'):
        build(broken, tasks=['sal'])


def test_single_task_human_parts_keeps_images_with_people(pascal_root,
                                                         tmp_path, capsys):
    from sak_mm.datasets import pascal_context
    cache = str(tmp_path / 'cache')
    capsys.readouterr()
    with mock.patch.object(pascal_context, 'print_log') as log:
        ds = build(pascal_root, tasks=['human_parts'], cache_dir=cache)
    # the once-per-root scan is announced and shows its progress
    assert 'images with annotated people in 3 human_parts files' in \
        log.call_args.args[0]
    assert '3/3' in capsys.readouterr().out
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [
        '2008_000001'
    ]
    files = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs]
    assert len(files) == 1 and files[0].endswith('people_val.json')
    import json
    with open(files[0]) as f:
        assert json.load(f) == {'2008_000001': True, '2008_000002': False,
                                '2008_000003': False}
    # the cache is reused (a corrupted answer would show), and multi-task
    # sets keep every image
    with open(files[0], 'w') as f:
        json.dump({'2008_000001': True, '2008_000002': True,
                   '2008_000003': False}, f)
    assert len(build(pascal_root, tasks=['human_parts'],
                     cache_dir=cache)) == 2
    assert '3/3' not in capsys.readouterr().out
    assert len(build(pascal_root, cache_dir=cache)) == 3
    assert len(build(pascal_root, tasks=['human_parts'], cache_dir=cache,
                     only_with_people=False)) == 3
