# Copyright (c) sak_mm contributors. All rights reserved.
"""The shipped configs parse and say what the paper says."""
import ast
import glob
import os.path as osp
from unittest import mock

import pytest
import yaml
from mmengine.config import Config

from sak_mm.evaluation.metrics import lower_is_better_results, mtl_gain
from sak_mm.utils import load_config, set_precision

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '**', '*.py'),
              recursive=True))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_parses(path):
    Config.fromfile(path)


def _is_alias(path: str) -> bool:
    """A config that only names another (``_base_ = ['other.py']``: a short
    name, or a table row that is the default); the metafile lists the
    other."""
    with open(path) as f:
        body = ast.parse(f.read()).body
    return (len(body) == 1 and isinstance(body[0], ast.Assign)
            and body[0].targets[0].id == '_base_'
            and len(body[0].value.elts) == 1)


#: the metric of each task that the papers report
PAPER_METRICS = dict(semseg={'mIoU'}, human_parts={'mIoU'},
                     sal={'maxF', 'mIoU'}, depth={'RMSE'},
                     normals={'mErr'}, edge={'odsF'})
DATASET_NAMES = dict(NYUDv2Dataset='NYUD-v2',
                     PascalContextDataset='PASCAL-Context',
                     ImageFolderDataset='ImageNet-1k')


def test_model_index_lists_every_config_with_the_papers_numbers():
    """model-index.yml (what ``mim`` reads) reaches one entry per config
    (demos and aliases aside), named as its file, on the config's dataset,
    with results only for tasks the config has; a single-task row equals
    the reference its config scores the multi-task gain against, and a
    paper's gain is the formula on its own numbers (to rounding) or the
    entry says what the formula gives."""
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    entries = []
    for metafile in index['Import']:
        with open(osp.join(ROOT, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for entry in meta['Models']:
            assert entry['In Collection'] in collections, entry['Name']
            entries.append(entry)
    expected = [osp.relpath(p, ROOT) for p in CONFIGS
                if '_base_' not in p and '/demo/' not in p
                and not _is_alias(p)]
    assert sorted(e['Config'] for e in entries) == sorted(expected)

    lower_is_better = lower_is_better_results()
    for entry in entries:
        name = entry['Name']
        assert name == osp.splitext(osp.basename(entry['Config']))[0]
        assert entry['Paper Source'] and 'Weights' in entry, name
        cfg = Config.fromfile(osp.join(ROOT, entry['Config']))
        dataset = DATASET_NAMES[cfg.train_dataloader.dataset.type]
        assert entry['Metadata']['Training Data'] == dataset, name
        for result in entry.get('Results', []):
            assert result['Dataset'] == dataset, name
            metrics = dict(result['Metrics'])
            gain = metrics.pop('mtl/delta_m', None)
            for key in metrics:
                task, metric = key.split('/')
                assert task in cfg.tasks, (name, key)
                assert metric in PAPER_METRICS[task], (name, key)
            reference = (cfg.get('val_evaluator') or {}).get('reference')
            if not reference:
                continue
            if gain is None and len(metrics) == 1:
                assert metrics.items() <= dict(reference).items(), name
            elif gain is not None:
                formula = mtl_gain(metrics, dict(reference), lower_is_better)
                assert (abs(formula - gain) <= 0.05 or
                        f'which gives {formula:.2f}' in entry['Paper Source'])


def _bases(path):
    """The config files ``path`` names in its ``_base_``."""
    with open(path) as f:
        tree = ast.parse(f.read())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
    return [osp.normpath(osp.join(osp.dirname(path), n)) for n in names]


def _depth(path) -> int:
    """Links in the longest ``_base_`` chain above ``path``."""
    return max((1 + _depth(b) for b in _bases(path)), default=0)


def test_inheritance_is_at_most_three_links_deep():
    """An ablation row -> its main config -> a dataset base -> the shared
    loader settings, at most, in configs/ and projects/ alike; ViT-B and
    ViT-S students build on the ViT-B model base, not on a ViT-L config
    (unless their teachers are ViT-L)."""
    depths = {osp.relpath(p, ROOT): _depth(p) for p in CONFIGS}
    assert max(depths.values()) == 3, {
        p: d for p, d in depths.items() if d > 3}
    for path in CONFIGS:
        name = osp.basename(path)
        if any(f'_vit{s}' in name for s in 'bs') and 'dinov2l' not in name:
            for base in _bases(path):
                assert 'vitl' not in osp.basename(base), (name, base)


@pytest.mark.parametrize('name', [
    'sak/sak_vitl_nyud.py', 'sak/sak_vitb_nyud.py',
    'sak/sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py'
])
def test_stage2_nyud_configs_follow_the_paper(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    assert cfg.default_scope == 'sak_mm'
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 2e-5
    assert opt.optimizer.weight_decay == 1e-6 and opt.optimizer.fused
    assert opt.clip_grad.max_norm == 10
    assert opt.type == 'AmpOptimWrapper' and opt.dtype == 'bfloat16'
    # the measured path: eager modules, with activation checkpointing
    assert cfg.model.backbone.type == 'TSAPBackbone'
    assert cfg.model.neck.type == 'MoRNeck'
    assert cfg.model.backbone.with_cp is True
    assert cfg.model.distill_loss.with_cp is True
    assert all(h.with_cp == 'selective' for h in cfg.model.heads.values())
    assert not cfg.get('fused_kernels', False)
    assert cfg.param_scheduler[0].type == 'PolyLR'
    assert cfg.param_scheduler[0].power == 0.9
    assert cfg.train_cfg.max_iters == 40000
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.load_from and 'sak-stage1_' in cfg.load_from
    stage1 = osp.basename(osp.dirname(cfg.load_from))
    assert osp.exists(osp.join(ROOT, 'configs', 'sak', stage1 + '.py'))
    model = cfg.model
    assert list(model.teachers) == ['dinov2', 'clip', 'sam']
    assert model.crop_size == (448, 576)
    assert model.backbone.stem.final_norm is False
    assert model.neck.noisy_gating and model.neck.mode == 'mor'
    assert model.distill_loss.cos_weight == 0.9
    assert model.distill_loss.smooth_l1_weight == 0.1
    assert model.distill_loss.loss_weight == 1.0
    weights = {t: h.loss.loss_weight for t, h in model.heads.items()}
    assert weights == dict(semseg=1.0, depth=1.0, normals=10.0, edge=50.0)
    outs = {t: h.out_channels for t, h in model.heads.items()}
    assert outs == dict(semseg=40, depth=1, normals=3, edge=1)
    assert model.heads.edge.loss.pos_weight == 0.95
    crop = [t for t in cfg.train_pipeline if t.type == 'RandomCrop'][0]
    assert crop.crop_size == (448, 576) and crop.cat_max_ratio == 0.75
    scale = [t for t in cfg.train_pipeline if t.type == 'RandomRescale'][0]
    assert scale.scale_range == (0.5, 2.0)
    ckpt = cfg.default_hooks.checkpoint
    assert ckpt.backend_args.backend == 'atomic_local'


def test_multitask_baseline_is_a_plain_vit_with_heads():
    """Its own model (no SAK part deleted): the stem alone, the SAK heads;
    a single-task baseline is the same config with one task."""
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'baselines', 'mtl_vitl_2xb2-40k_nyud-448x576.py'))
    model = cfg.model
    assert model.type == 'MultiTaskEncoderDecoder'
    assert model.backbone.type == 'TASBackbone'
    assert model.backbone.stem.arch == 'large'
    assert 'teachers' not in model and 'neck' not in model
    assert set(model.decoder.heads) == {'semseg', 'depth', 'normals', 'edge'}
    single = load_config(osp.join(
        ROOT, 'configs', 'baselines', 'stl_vitl-depth_2xb2-40k_nyud-448x576.py'))
    assert single.model.tasks == ['depth']
    for split in ('train', 'val', 'test'):
        assert single[f'{split}_dataloader'].dataset.tasks == ['depth']


@pytest.mark.parametrize('name,arch,teacher_arch', [
    ('sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px', 'large',
     'large'),
    ('sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px', 'base',
     'base'),
    ('sak-stage1_vitb-dinov2l-clipl-saml_8xb16-30e_in1k-384px', 'base',
     'large'),
    ('sak-stage1_vits-dinov2b-clipb-samb_8xb16-30e_in1k-384px', 'deit-small',
     'base'),
])
def test_stage1_configs_follow_the_paper(name, arch, teacher_arch):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'sak', name + '.py'))
    model = cfg.model
    assert model.neck is None and model.get('heads') is None
    assert model.backbone.stem.arch == arch
    assert model.backbone.stem.init_cfg.type == 'Pretrained'
    assert model.teachers.dinov2.arch == teacher_arch
    assert model.crop_size == (384, 384)
    assert cfg.train_dataloader.batch_size == 16
    crop = cfg.train_pipeline[1]
    assert crop.type == 'RandomResizedCrop' and crop.size == (384, 384)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-3, 0.01)
    assert opt.fused
    schedule, = cfg.param_scheduler
    assert schedule.type == 'WarmupCosineLR' and schedule.warmup == 2
    assert (schedule.warmup_start, schedule.eta_min) == (1.25e-7, 1e-5)
    assert (schedule.begin, schedule.end) == (0, 30)
    assert schedule.convert_to_iter_based
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.val_cfg is None and cfg.custom_hooks == []


@pytest.mark.parametrize('name', ['sak/sak_vitl_pascal.py',
                                  'sak/sak_vitb_pascal.py'])
def test_pascal_configs_follow_the_paper(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    model = cfg.model
    assert model.crop_size == (512, 512)
    heads = model.heads
    assert {t: h.out_channels for t, h in heads.items()} == dict(
        semseg=21, human_parts=7, sal=2, normals=3, edge=1)
    assert {t: h.loss.loss_weight for t, h in heads.items()} == dict(
        semseg=1.0, human_parts=2.0, sal=5.0, normals=10.0, edge=50.0)
    assert heads.sal.loss.class_balanced is True
    assert cfg.train_cfg.max_iters == 40000
    assert cfg.optim_wrapper.optimizer.lr == 2e-5
    crop = [t for t in cfg.train_pipeline if t.type == 'RandomCrop'][0]
    assert crop.crop_size == (512, 512)
    metrics = cfg.val_evaluator.task_metrics
    assert metrics.human_parts.num_classes == 7
    assert metrics.sal.type == 'SaliencyMetric'


def train_tool_config(config, *options):
    """The config ``tools/train.py CONFIG *options`` trains (its own
    argument parsing and merge)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(ROOT, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    argv = ['train.py', osp.join(ROOT, config), *options]
    with mock.patch('sys.argv', argv):
        return train.merge_args(Config.fromfile(argv[1]), train.parse_args())


def test_precision_switch_of_tools_train():
    """`--amp fp32` turns the GPU configs' bf16 AMP off (the reference
    math); `--amp bf16` turns it on for the fp32 demo."""
    cfg = train_tool_config('configs/sak/sak_vitl_nyud.py', '--amp', 'fp32')
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.clip_grad.max_norm == 10
    cfg = train_tool_config('configs/demo/sak_tiny_demo.py', '--amp', 'bf16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
    assert set_precision(cfg, 'fp16').optim_wrapper.loss_scale == 'dynamic'
    with pytest.raises(ValueError, match="precision must be"):
        set_precision(cfg, 'int8')


def test_stage1_lr_follows_the_references_timm_scheduler_every_iteration():
    """The stage-1 schedule, built as the Runner builds it (epochs converted
    to iterations), gives at every iteration the learning rate the
    reference trains with: timm's CosineLRScheduler(warmup_prefix=True)
    stepped with the finished iteration's index (train_s1.py)."""
    import torch
    from timm.scheduler.cosine_lr import CosineLRScheduler

    from sak_mm.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'schedules',
                                   'schedule_30e_distill.py'))
    epoch_length, epochs = 7, cfg.train_cfg.max_epochs
    lr = cfg.optim_wrapper.optimizer.lr

    def optimizer():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)

    ours = optimizer()
    spec = dict(cfg.param_scheduler[0], optimizer=ours)
    spec.pop('convert_to_iter_based')
    scheduler = PARAM_SCHEDULERS.get(spec.pop('type')).build_iter_from_epoch(
        epoch_length=epoch_length, **spec)
    theirs = optimizer()
    timm = CosineLRScheduler(
        theirs, t_initial=(epochs - 2) * epoch_length, lr_min=1e-5,
        warmup_t=2 * epoch_length, warmup_lr_init=1.25e-7,
        warmup_prefix=True)
    got, expected = [], []
    for i in range(epochs * epoch_length):
        got.append(ours.param_groups[0]['lr'])
        expected.append(theirs.param_groups[0]['lr'])
        ours.step()
        scheduler.step()
        timm.step(i)
    assert got == pytest.approx(expected, rel=1e-12, abs=0)
    # the curve's landmarks: two steps at the start value, the peak at the
    # end of warm-up, the floor approached at the end
    assert got[0] == got[1] == 1.25e-7
    assert got[2 * epoch_length + 1] == pytest.approx(lr)
    assert 1e-5 < got[-1] < 1.05e-5


def test_stage2_lr_is_the_references_poly_decay_every_iteration():
    """The stage-2 schedule, built as the Runner builds it, gives at every
    iteration t of the 40k the reference's lr0 * (1 - t / 40000) ** 0.9
    (train_utils.py), the last one included (not 0 one step early)."""
    import torch

    from sak_mm.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'schedules',
                                   'schedule_40k.py'))
    lr, total = cfg.optim_wrapper.optimizer.lr, cfg.train_cfg.max_iters
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    spec = dict(cfg.param_scheduler[0], optimizer=optimizer)
    scheduler = PARAM_SCHEDULERS.build(spec)
    got = []
    for _ in range(total):
        got.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    expected = [lr * (1 - t / 40000)**0.9 for t in range(total)]
    assert got == pytest.approx(expected, rel=1e-9, abs=0)
    assert got[-1] > 0


def _training_size(cfg):
    """The size the training pipeline crops or resizes to."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'RandomCrop':
            return tuple(step.crop_size)
        if step.type in ('RandomResizedCrop', 'FixedResize'):
            return tuple(step.size)
    raise AssertionError('no crop or resize in the training pipeline')


def _img_sizes(cfg, path=''):
    """``(key path, type)`` of every part that sets an ``img_size``."""
    if isinstance(cfg, dict):
        if 'img_size' in cfg:
            yield path, cfg.get('type')
        for key, value in cfg.items():
            yield from _img_sizes(value, f'{path}.{key}')


@pytest.mark.parametrize('path', [
    p for p in CONFIGS if '_base_' not in p
], ids=lambda p: osp.relpath(p, ROOT))
def test_the_crop_size_is_said_once(path):
    """The model's crop_size is the training pipeline's; no part repeats
    it (the stem, the teachers and the data preprocessor get it from the
    model, sak_mm.models.utils.with_crop): the only input sizes set are
    SAM's canvas and a Swin's pretraining window grid."""
    cfg = Config.fromfile(path)
    assert tuple(cfg.model.crop_size) == _training_size(cfg)
    assert 'pad_size' not in cfg.model.get('data_preprocessor', {})
    for key, kind in _img_sizes(cfg.model, 'model'):
        assert kind in ('SAMTeacher', 'mmpretrain.SwinTransformer'), key


def test_parts_built_for_the_crop_get_it_from_the_model():
    """What the models build from crop_size: the stem and DINOv2 / CLIP at
    the crop, SAM at its own canvas, a probed teacher at the crop."""
    from sak_mm.models.utils import with_crop
    cfg = load_config(osp.join(ROOT, 'configs', 'sak', 'sak_vitl_nyud.py'))
    crop = (448, 576)
    assert with_crop(cfg.model.backbone, crop)['stem']['img_size'] == crop
    teachers = {n: with_crop(t, crop) for n, t in cfg.model.teachers.items()}
    assert teachers['dinov2']['img_size'] == crop
    assert teachers['clip']['img_size'] == crop
    assert 'img_size' not in teachers['sam']
    probe = load_config(osp.join(
        ROOT, 'configs', 'baselines', 'probe_clip-b_2xb2-40k_pascal-512x512.py'))
    teacher = with_crop(probe.model.backbone, (512, 512))['teacher']
    assert teacher['img_size'] == (512, 512)


def test_a_single_task_run_of_any_config_from_the_command_line():
    """``tools/train.py CONFIG --cfg-options tasks=[depth]``: the model
    decodes, the datasets load and so the metrics score depth alone."""
    from sak_mm.utils import apply_task_switch
    cfg = train_tool_config('configs/sak/sak_vitl_nyud.py', '--cfg-options',
                            'tasks=[depth]')
    cfg = apply_task_switch(cfg)
    assert cfg.model.tasks == ['depth']
    assert cfg.train_dataloader.dataset.tasks == ['depth']
    assert cfg.test_dataloader.dataset.tasks == ['depth']
