# Copyright (c) sak_mm contributors. All rights reserved.
"""Every experiment config builds its model through its real weight-loading
path and runs one training iteration (and its validation, if any) through
the Runner -- shrunk to tiny models and the demo / fixture data, so it stays
cheap.

Each part is shrunk by what its class declares (``tiny_test_cfg``); every
weight file a config names is replaced by a tiny file written in that
file's real format (a teacher's ``save_release_file``: OpenAI's TorchScript
CLIP archive, SAM's full checkpoint, timm's safetensors...; mmpretrain /
mmseg checkpoints for stems and backbones), and read by the config's own
loading options."""
import ast
import copy
import glob
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config, ConfigDict

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.models.utils import with_crop as fill_crop
from sak_mm.registry import MODELS
from sak_mm.utils import set_precision
from tests.test_datasets.pascal_fixture import make_pascal

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'sak', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'sak', 'ablations', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'baselines', '*.py')) +
    glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))
CROP = (48, 64)
RELEASE_SIZE = (56, 56)  # the tiny weight files' input size
# tiny stand-ins of other libraries' backbones (mmpretrain's), with their
# levels' channels; our own classes declare theirs (``tiny_test_cfg``)
TINY_BACKBONES = {
    'mmpretrain.SwinTransformer': (dict(
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
        img_size=CROP[0], window_size=4, pad_small_map=True), [16, 32, 64, 128]),
    'mmpretrain.HRNet': (dict(extra=dict(
        stage1=dict(num_blocks=(1, )),
        stage2=dict(num_blocks=(1, 1)),
        stage3=dict(num_modules=1, num_blocks=(1, 1, 1)),
        stage4=dict(num_modules=1, num_blocks=(1, 1, 1, 1)))),
        [18, 36, 72, 144]),
    'mmpretrain.VisionTransformer': (dict(
        arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                  feedforward_channels=64), out_indices=(0, 1, 2, 3)), 32),
}


def merged(cfg, tiny: dict):
    """``cfg`` with ``tiny`` merged in; a part the config switches off
    (None) stays off."""
    cfg = ConfigDict(copy.deepcopy(dict(cfg)))
    for key, value in tiny.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = merged(cfg[key], value)
        elif key not in cfg or cfg[key] is not None:
            cfg[key] = copy.deepcopy(value)
    return cfg


def tiny(cfg):
    """``cfg`` shrunk as its class declares."""
    return merged(cfg, MODELS.get(cfg.type).tiny_test_cfg())


class WeightFiles:
    """Tiny weight files in the real formats, each written once."""

    def __init__(self, folder):
        self.folder = folder
        self.written = {}

    def _path(self, cfg, suffix) -> str:
        """The file of the model ``cfg`` builds (one per distinct config)."""
        key = repr(sorted((k, repr(v)) for k, v in cfg.items()))
        if key not in self.written:
            self.written[key] = str(self.folder / f'{len(self.written)}'
                                    f'{suffix}')
        return self.written[key]

    def teacher(self, cfg) -> str:
        """A file laid out as the family's release, for the tiny model
        ``cfg`` builds, made (like the real ones) at a square resolution
        other than the crop, which loading resamples; ``cfg.checkpoint``
        keeps its file name's ending."""
        plain = {k: v for k, v in cfg.items() if k != 'checkpoint'}
        plain = ConfigDict(fill_crop(plain, RELEASE_SIZE))
        path = self._path(plain, osp.splitext(cfg.checkpoint)[1])
        if not osp.exists(path):
            MODELS.build(plain).save_release_file(path)
        return path

    def backbone(self, cfg) -> str:
        """An mmpretrain classifier / mmseg segmentor checkpoint holding
        ``cfg``'s tiny backbone under ``backbone.``, beside a head."""
        plain = {k: v for k, v in cfg.items() if k != 'init_cfg'}
        path = self._path(plain, '.pth')
        if not osp.exists(path):
            state = MODELS.build(plain).state_dict()
            state = {f'backbone.{k}': v for k, v in state.items()}
            state['head.fc.weight'] = torch.zeros(10, 4)
            torch.save(dict(meta=dict(), state_dict=state), path)
        return path


def shrink_teacher(cfg, files):
    cfg = tiny(cfg)
    if cfg.get('checkpoint') is not None:
        cfg.checkpoint = files.teacher(cfg)
    return cfg


def shrink_backbone(model, files):
    backbone = model.backbone
    if backbone.type == 'FrozenTeacherBackbone':
        backbone.teacher = shrink_teacher(backbone.teacher, files)
        return
    if backbone.type in ('TASBackbone', 'TSAPBackbone'):
        model.backbone = backbone = tiny(backbone)
        stem = backbone.stem
        if stem.get('init_cfg') is not None:
            stem.init_cfg.checkpoint = files.backbone(at_test_crop(stem))
        return
    options, channels = TINY_BACKBONES[backbone.type]
    backbone.update(copy.deepcopy(options))
    model.decoder.in_channels = channels
    if model.get('pretrained') is not None:
        model.pretrained.checkpoint = files.backbone(at_test_crop(backbone))


def at_test_crop(cfg):
    """``cfg`` built for the tests' crop."""
    return ConfigDict(fill_crop(cfg, CROP))


def shrink_loader(loader, roots):
    if loader is None:
        return None
    ds = loader.dataset
    ds.data_root = roots[ds.type]
    if ds.type == 'ImageFolderDataset':
        ds.split = 'images'
    if ds.get('indices') is not None:
        ds.indices = 3
    for step in ds.pipeline:
        if step.type == 'RandomCrop':
            step.crop_size = CROP
        if step.type in ('RandomResizedCrop', 'FixedResize'):
            step.size = CROP
    loader.num_workers = 0
    loader.persistent_workers = False
    loader.batch_size = 2
    return loader


def shrink(cfg, roots, work_dir, files):
    model = cfg.model
    model.crop_size = CROP
    shrink_backbone(model, files)
    if model.get('decoder') is not None and \
            hasattr(MODELS.get(model.decoder.type), 'tiny_test_cfg'):
        model.decoder = tiny(model.decoder)
    if 'teachers' in model:
        model.teachers = {n: shrink_teacher(t, files)
                          for n, t in model.teachers.items()}
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader'
        cfg[key] = shrink_loader(cfg.get(key), roots)
    loop = cfg.train_cfg
    if loop.type == 'EpochBasedTrainLoop':
        loop.max_epochs = 1
    else:
        loop.max_iters = 1
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        if evaluator is None:
            continue
        metrics = evaluator.task_metrics
        for name in list(metrics):
            if metrics[name].type == 'BoundaryMetric':
                metrics[name].num_workers = 0
    if not torch.cuda.is_available():  # AmpOptimWrapper needs a GPU
        set_precision(cfg, 'fp32')
    cfg.load_from = None
    cfg.work_dir = work_dir
    cfg.visualizer.name = work_dir
    cfg.default_hooks.checkpoint.interval = 100
    cfg.default_hooks.logger.interval = 1
    return cfg


def parse_unformatted(text: str, **kwargs):
    """yapf's ``FormatCode`` for these runs: the config text must still be
    valid Python (``ast.parse`` raises where yapf would), but is not
    re-styled, which took 70 % of a run (mmengine formats every config five
    times: the log, the dump, the visualizer, the checkpoint meta)."""
    ast.parse(text)
    return text, None


@pytest.fixture(scope='module', autouse=True)
def unformatted_config_text():
    with mock.patch('mmengine.config.config.FormatCode', parse_unformatted):
        yield


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('data')
    nyud = make_demo_nyud(str(tmp / 'nyud'), num_train=2, num_val=2,
                          size=(60, 80), seed=6)
    return {
        'NYUDv2Dataset': nyud,
        'PascalContextDataset': make_pascal(str(tmp / 'pascal')),
        'ImageFolderDataset': nyud,
    }


@pytest.fixture(scope='module')
def weight_files(tmp_path_factory):
    return WeightFiles(tmp_path_factory.mktemp('weights'))


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_trains_one_iteration(path, roots, weight_files, tmp_path):
    cfg = shrink(Config.fromfile(path), roots, str(tmp_path), weight_files)
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter >= 1
