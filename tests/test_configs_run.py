# Copyright (c) sak_mm contributors. All rights reserved.
"""Every experiment config builds its model and runs one training
iteration (and its validation, if any) through the Runner -- shrunk to tiny
random-init models and the demo / fixture data, so it stays cheap."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.utils import set_precision
from tests.test_datasets.pascal_fixture import make_pascal

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'sak', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'sak', 'ablations', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'baselines', '*.py')) +
    glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py')))
CROP = (48, 64)
TINY = {
    'DINOv2Teacher': dict(
        arch=dict(embed_dims=24, num_layers=4, num_heads=2,
                  feedforward_channels=48), img_size=28),
    'CLIPTeacher': dict(
        vision_cfg=dict(width=32, layers=4, head_width=16, patch_size=16,
                        mlp_ratio=2.0), img_size=CROP),
    'SAMTeacher': dict(
        arch=dict(embed_dim=32, depth=4, num_heads=2,
                  global_attn_indexes=(1, 3)), img_size=64, window_size=2),
    'TimmViTTeacher': dict(
        model_name='vit_base_patch16_clip_384', img_size=CROP,
        model_kwargs=dict(embed_dim=32, depth=4, num_heads=2)),
}
WEIGHT_KEYS = ('checkpoint', 'pretrained', 'model_name', 'init_cfg')
# tiny stand-ins of the mmpretrain backbones of MultiTaskEncoderDecoder
# configs, with their levels' channels
TINY_BACKBONES = {
    'mmpretrain.SwinTransformer': (dict(
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
        img_size=CROP[0], window_size=4, pad_small_map=True), [16, 32, 64, 128]),
    'mmpretrain.HRNet': (dict(), [18, 36, 72, 144]),
    'mmpretrain.VisionTransformer': (dict(
        arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                  feedforward_channels=64), img_size=CROP,
        out_indices=(0, 1, 2, 3)), 32),
}


def tiny_teacher(cfg):
    cfg = {k: v for k, v in cfg.items() if k not in WEIGHT_KEYS}
    cfg.update(copy.deepcopy(TINY[cfg['type']]))
    return cfg


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


def shrink_encoder_decoder(model):
    """A MultiTaskEncoderDecoder with a tiny backbone of its family and a
    narrow decoder, no weight file."""
    options, channels = TINY_BACKBONES[model.backbone.type]
    model.backbone.update(copy.deepcopy(options))
    model.pop('pretrained', None)
    model.save_backbone = True
    shrink_decoder(model.decoder)
    model.decoder.in_channels = channels


def shrink_decoder(decoder):
    if decoder.type == 'FGMoEDecoder':
        decoder.channels = 16
        decoder.head_channels = 8
        if decoder.get('mixer') is not None:
            decoder.mixer.num_heads = 2
        for key in ('task_moe', 'global_moe'):
            if decoder.get(key) is not None:
                decoder[key].hidden = 8


def shrink(cfg, roots, work_dir):
    model = cfg.model
    backbone = model.backbone
    if model.type == 'MultiTaskEncoderDecoder':
        shrink_encoder_decoder(model)
    elif backbone.type == 'TSAPBackbone':
        stem = backbone.stem
        stem.pop('init_cfg', None)
        stem.arch = dict(embed_dims=32, num_layers=4, num_heads=2,
                         feedforward_channels=64)
        stem.img_size = CROP
    else:
        backbone.teacher = tiny_teacher(backbone.teacher)
    if model.get('decoder') is not None:
        shrink_decoder(model.decoder)
    if 'teachers' in model:
        model.teachers = {n: tiny_teacher(t)
                          for n, t in (model.teachers or {}).items()}
    model.data_preprocessor.pad_size = CROP
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


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_trains_one_iteration(path, roots, tmp_path):
    cfg = shrink(Config.fromfile(path), roots, str(tmp_path))
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter >= 1
