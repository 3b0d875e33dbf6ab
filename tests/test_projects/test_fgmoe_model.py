# Copyright (c) sak_mm contributors. All rights reserved.
"""FGMoE as a model: backbone weights (mmpretrain and mmseg formats),
decoder-only training, decoder-only checkpoints, FGMoE on the SAK student,
and the expert-usage recording in a real Runner and the analysis tool."""
import copy
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import projects.fgmoe.fgmoe  # noqa: F401  (registers the decoder)
from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.models.utils.weights import WeightsMismatchError
from sak_mm.registry import MODELS
from sak_mm.utils import load_checkpoint_file
from tests.conftest import CROP, NYUD_HEADS, ROOT, run_tool, tiny_sak_cfg
from tests.test_models.test_distiller import make_batch

DEMO = osp.join(ROOT, 'projects', 'fgmoe', 'configs', 'demo',
                'fgmoe_tiny_demo.py')
TINY_SWIN = dict(
    type='mmpretrain.SwinTransformer',
    arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
    img_size=CROP[0], window_size=4, pad_small_map=True,
    out_indices=(0, 1, 2, 3))
HEADS = {
    t: dict(out_channels=h['out_channels'], loss=h['loss'])
    for t, h in NYUD_HEADS.items()
}


def fgmoe_cfg(backbone=TINY_SWIN, in_channels=(16, 32, 64, 128), **kwargs):
    cfg = dict(
        type='MultiTaskEncoderDecoder',
        backbone=copy.deepcopy(backbone),
        decoder=dict(
            type='FGMoEDecoder', in_channels=list(in_channels),
            heads=copy.deepcopy(HEADS), channels=16, head_channels=8,
            mixer=dict(num_heads=2), task_moe=dict(hidden=8),
            global_moe=dict(hidden=8)),
        data_preprocessor=dict(type='MultiTaskDataPreprocessor',
                               pad_size=CROP, size_divisor=32))
    cfg.update(kwargs)
    return cfg


def swin_files(tmp_path):
    """A tiny Swin's weights as mmpretrain's ImageNet classifier saves them
    (``backbone.`` + ``head.``, an output norm for the last stage only) and
    as an mmseg UperNet checkpoint (``backbone.`` + decode heads)."""
    torch.manual_seed(1)
    swin = MODELS.build(TINY_SWIN)
    own = swin.state_dict()
    classifier = {f'backbone.{k}': v for k, v in own.items()
                  if not k.startswith(('norm0.', 'norm1.', 'norm2.'))}
    classifier['head.fc.weight'] = torch.randn(10, 128)
    upernet = {f'backbone.{k}': v for k, v in own.items()}
    upernet['decode_head.conv_seg.weight'] = torch.randn(150, 8, 1, 1)
    upernet['auxiliary_head.conv_seg.weight'] = torch.randn(150, 8, 1, 1)
    paths = {}
    for name, state in (('classifier', classifier), ('upernet', upernet)):
        paths[name] = str(tmp_path / f'{name}.pth')
        torch.save(dict(meta=dict(mmseg_version='1.2.2'), state_dict=state),
                   paths[name])
    return swin, paths


def test_backbone_weights_load_from_mmpretrain_and_mmseg_files(tmp_path):
    swin, paths = swin_files(tmp_path)
    for name, allow in (('upernet', ()),
                        ('classifier', ('norm0.', 'norm1.', 'norm2.'))):
        model = MODELS.build(fgmoe_cfg(pretrained=dict(
            checkpoint=paths[name], allow_missing=allow)))
        model.init_weights()
        for key, value in swin.state_dict().items():
            if not key.startswith(allow or ('-', )):
                torch.testing.assert_close(model.backbone.state_dict()[key],
                                           value)


def test_backbone_weight_errors_name_the_file_and_the_keys(tmp_path):
    _, paths = swin_files(tmp_path)
    model = MODELS.build(fgmoe_cfg(pretrained=paths['classifier']))
    with pytest.raises(WeightsMismatchError) as err:
        model.init_weights()
    assert paths['classifier'] in str(err.value)
    message = str(err.value)
    assert 'keys the file lacks (6)' in message and 'norm0.weight' in \
        message and 'allow_missing' in message
    state = torch.load(paths['upernet'], weights_only=True)['state_dict']
    state['backbone.stages.9.extra'] = torch.zeros(1)
    torch.save(state, str(tmp_path / 'extra.pth'))
    model = MODELS.build(fgmoe_cfg(pretrained=str(tmp_path / 'extra.pth')))
    with pytest.raises(WeightsMismatchError, match='keys the model lacks.*'
                       'stages.9.extra'):
        model.init_weights()


def test_hrnet_w18_small_reads_the_official_layout(tmp_path):
    """Table 1's "HRNet18" (HRNetV2-W18-small, 3.86 M) from its config: the
    weights are a bare state dict in the official HRNet layout with the
    ImageNet classification head (MMSeg's ``hrnetv2_w18_small``); the head
    is left out, any other stray key is still refused."""
    base = Config.fromfile(osp.join(ROOT, 'projects', 'fgmoe', 'configs',
                                    '_base_', 'models',
                                    'fgmoe_hrnet-w18-small.py')).model
    path = str(tmp_path / 'hrnetv2_w18_small.pth')
    model = MODELS.build(fgmoe_cfg(
        backbone=base.backbone, in_channels=(18, 36, 72, 144),
        pretrained=dict(base.pretrained, checkpoint=path)))
    assert sum(p.numel() for p in model.backbone.parameters()) == 3_860_720
    state = {k: v + 1 if v.is_floating_point() else v
             for k, v in model.backbone.state_dict().items()}
    state['incre_modules.0.0.conv1.weight'] = torch.randn(32, 18, 1, 1)
    state['downsamp_modules.0.0.weight'] = torch.randn(256, 128, 3, 3)
    state['final_layer.0.weight'] = torch.randn(2048, 1024, 1, 1)
    state['classifier.weight'] = torch.randn(1000, 2048)
    torch.save(state, path)
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, state[key])
    state['stage5.0.weight'] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match='stage5.0.weight'):
        model.init_weights()


def test_vit_position_grid_is_resampled_at_load(tmp_path):
    vit = dict(type='mmpretrain.VisionTransformer',
               arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                         feedforward_channels=64),
               img_size=(32, 32), patch_size=16, out_indices=(0, 1),
               out_type='featmap')
    trained = MODELS.build(vit)  # a 2x2 grid
    torch.save({f'backbone.{k}': v for k, v in trained.state_dict().items()},
               str(tmp_path / 'vit.pth'))
    model = MODELS.build(fgmoe_cfg(
        backbone=dict(vit, img_size=CROP), in_channels=(32, 32),
        pretrained=str(tmp_path / 'vit.pth')))
    model.heads.aggregator  # noqa: B018
    model.init_weights()
    assert model.backbone.pos_embed.shape == (1, 1 + 3 * 4, 32)
    torch.testing.assert_close(model.backbone.pos_embed[:, :1],
                               trained.pos_embed[:, :1])


def test_decoder_only_training_leaves_the_backbone_untouched():
    """Frozen backbone: no gradients, no optimizer state, eval-mode norms
    (BN statistics kept) whatever train() says; the decoder learns."""
    resnet = dict(type='mmpretrain.ResNet', depth=18, out_indices=(0, 1, 2,
                                                                   3))
    model = MODELS.build(fgmoe_cfg(backbone=resnet,
                                   in_channels=(64, 128, 256, 512),
                                   freeze_backbone=True))
    before = copy.deepcopy(model.backbone.state_dict())
    head_before = copy.deepcopy(model.heads.state_dict())
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)))
    model.train()
    assert not model.backbone.training and model.heads.training
    assert not any(p.requires_grad for p in model.backbone.parameters())
    losses = model.train_step(make_batch(), wrapper)
    assert all(torch.isfinite(v) for v in losses.values())
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    state = wrapper.optimizer.state
    backbone_params = set(model.backbone.parameters())
    assert state and not any(p in backbone_params for p in state)
    changed = [k for k, v in model.heads.state_dict().items()
               if not torch.equal(v, head_before[k])]
    assert changed


def test_decoder_only_checkpoints_hold_the_decoder_alone(tmp_path):
    _, paths = swin_files(tmp_path)
    cfg = fgmoe_cfg(pretrained=paths['upernet'], freeze_backbone=True,
                    save_backbone=False)
    model = MODELS.build(cfg)
    state = model.state_dict()
    assert state and not any(k.startswith('backbone.') for k in state)
    # a fresh model reads its backbone from `pretrained` and loads the
    # decoder-only state strictly
    fresh = MODELS.build(cfg)
    fresh.load_state_dict(state, strict=True)
    fresh.eval(), model.eval()
    x = torch.randn(1, 3, *CROP)
    for t, v in model(x).items():
        torch.testing.assert_close(fresh(x)[t], v)
    with pytest.raises(ValueError, match='needs freeze_backbone'):
        MODELS.build(fgmoe_cfg(pretrained=paths['upernet'],
                               save_backbone=False))


def test_fgmoe_on_the_sak_student_decodes_the_mor_mixtures():
    """Each task branch aggregates its MoR mixture, the global MoE the TAS
    levels; distillation and task losses are both there."""
    decoder = dict(type='FGMoEDecoder', heads=copy.deepcopy(HEADS),
                   channels=16, head_channels=8, mixer=dict(num_heads=2),
                   task_moe=dict(hidden=8), global_moe=dict(hidden=8))
    model = MODELS.build(tiny_sak_cfg(heads=None, decoder=decoder))
    calls = []
    model.heads.aggregator.register_forward_hook(
        lambda m, inp, out: calls.append(inp[0]))
    batch = model.data_preprocessor(make_batch(), training=True)
    losses = model(**batch, mode='loss')
    assert len(calls) == 1 + len(HEADS)
    feats = model.backbone(batch['inputs'])
    for got, want in zip(calls[0], feats['tas']):
        torch.testing.assert_close(got, want)
    assert {f'decode.{t}.' in ' '.join(losses) for t in HEADS} == {True}
    assert any(k.startswith('distill.') for k in losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.heads.task_moes.semseg.routers[0].centroids.grad is not None
    model.eval()
    with torch.no_grad():
        samples = model(**model.data_preprocessor(make_batch()),
                        mode='predict')
    assert set(samples[0].pred.keys()) == set(HEADS)
    assert 'gate_scores' in samples[0]


def test_expert_usage_is_recorded_in_a_runner_and_plotted(tmp_path):
    """Four demo iterations through the Runner, twice, bitwise the same
    (the demo's deterministic kernels); a validation with the
    ExpertUsageHook, then tools/analysis/router_weights.py on the
    checkpoint and on the JSON."""
    rooms = make_demo_nyud(str(tmp_path / 'rooms'), num_train=4, num_val=2,
                           size=(60, 80), seed=2)
    cfg = Config.fromfile(DEMO)
    options = {
        'train_dataloader.dataset.data_root': rooms,
        'val_dataloader.dataset.data_root': rooms,
        'test_dataloader.dataset.data_root': rooms,
        'train_dataloader.num_workers': 0,
        'val_dataloader.num_workers': 0,
        'test_dataloader.num_workers': 0,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 4,
        'train_cfg.val_interval': 4,
        'param_scheduler.0.end': 4,
        'default_hooks.checkpoint.interval': 4,
    }
    cfg.merge_from_dict(options)
    assert cfg.randomness.deterministic
    weights = []
    try:
        for work in ('again', 'work'):
            cfg.work_dir = str(tmp_path / work)
            cfg.visualizer.name = cfg.work_dir
            SAKRunner.from_cfg(cfg).train()
            weights.append(load_checkpoint_file(
                osp.join(cfg.work_dir, 'iter_4.pth'))['state_dict'])
    finally:  # the Runner switched it on for the whole process
        torch.use_deterministic_algorithms(False)
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key
    with open(osp.join(cfg.work_dir, 'val_expert_usage.json')) as f:
        usage = json.load(f)
    assert set(usage['routers']) == {'semseg', 'depth', 'normals', 'edge',
                                     'global'}
    for stats in usage['routers'].values():
        assert len(stats['selected']) == 6
        assert sum(stats['selected']) == pytest.approx(3.0, abs=1e-5)  # top-3
        assert sum(stats['mean_gate']) == pytest.approx(1.0, abs=1e-5)
        # 2 images padded to the demo's 96x128 batch, tokens at H/4 x W/4
        assert stats['tokens'] == 2 * 24 * 32

    out = str(tmp_path / 'analysis')
    run_tool('analysis/router_weights.py', DEMO,
             osp.join(cfg.work_dir, 'iter_4.pth'), '--out-dir', out,
             '--formats', 'png', '--cfg-options',
             *[f'{k}={v}' for k, v in options.items()])
    with open(osp.join(out, 'expert_usage.json')) as f:
        measured = json.load(f)
    assert measured['routers']['semseg']['selected'] == pytest.approx(
        usage['routers']['semseg']['selected'])
    assert osp.getsize(osp.join(out, 'expert_usage.png')) > 0
    run_tool('analysis/router_weights.py', '--json',
             osp.join(cfg.work_dir, 'val_expert_usage.json'), '--out-dir',
             str(tmp_path / 'from_json'), '--formats', 'png')
    assert osp.isfile(str(tmp_path / 'from_json' / 'expert_usage.png'))


def _flat(cfg: dict, prefix: str = '') -> dict:
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            out.update(_flat(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


@pytest.mark.parametrize('row, task_moe', [
    ('e2', dict(num_routed=2, top_k=2)), ('e4', dict(num_routed=4)),
    ('e6', {}), ('e8', dict(num_routed=8)), ('e16', dict(num_routed=16)),
    ('k2', dict(top_k=2)), ('k3', {}), ('k4', dict(top_k=4)),
    ('k6', dict(top_k=6))
])
def test_ablation_configs_vary_only_the_task_specific_moes(row, task_moe):
    """Tables 6 and 7 vary the intra-task experts and their K; everything
    else, the global MoE's 2 + 6 experts and top-3 included, is the main
    Swin-T NYUD config's."""
    configs = osp.join(ROOT, 'projects', 'fgmoe', 'configs')
    main = _flat(Config.fromfile(osp.join(
        configs, 'fgmoe_swin-t_2xb4-40k_nyud-448x576.py')).to_dict())
    ablation = _flat(Config.fromfile(osp.join(
        configs, f'fgmoe-{row}_swin-t_2xb4-40k_nyud-448x576.py')).to_dict())
    assert set(main) == set(ablation)
    changed = {k: ablation[k] for k in main if main[k] != ablation[k]}
    assert changed == {f'model.decoder.task_moe.{k}': v
                       for k, v in task_moe.items()}
    assert (ablation['model.decoder.global_moe.num_routed'],
            ablation['model.decoder.global_moe.top_k']) == (6, 3)
