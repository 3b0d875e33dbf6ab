# Copyright (c) sak_mm contributors. All rights reserved.
"""The converter of the authors' released students. (Parity with their full
model was checked once against their code; see docs/model_zoo.md.)"""
import importlib.util
import os.path as osp

import pytest
import torch

from sak_mm.registry import MODELS

timm = pytest.importorskip('timm')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TASKS = dict(semseg=40, depth=1)
TEACHERS = ['dinov2', 'sam']
IMG = (32, 48)


def load_converter():
    spec = importlib.util.spec_from_file_location(
        'sak_official_to_sakmm',
        osp.join(ROOT, 'tools', 'model_converters',
                 'sak_official_to_sakmm.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_state(vit):
    """A state dict in the reference's naming: timm ViT + random parts."""
    g = torch.Generator().manual_seed(0)
    d, blocks = 32, [0, 1, 2, 3]
    state = {'backbone.vit.' + k: v for k, v in vit.state_dict().items()}
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    for t in TEACHERS:
        for i in range(5):
            state[f'backbone.tsap.{t}.{i}.down.weight'] = rnd(8, d)
            state[f'backbone.tsap.{t}.{i}.down.bias'] = rnd(8)
            state[f'backbone.tsap.{t}.{i}.up.weight'] = rnd(d, 8)
            state[f'backbone.tsap.{t}.{i}.up.bias'] = rnd(d)
            state[f'backbone.tsap.{t}.{i}.scale'] = rnd(1)
        for b in blocks:
            state[f'backbone.out_norms.{b}_{t}.weight'] = rnd(d)
            state[f'backbone.out_norms.{b}_{t}.bias'] = rnd(d)
            state[f'backbone.ts_aligners.{b}_{t}.weight'] = rnd(24, d)
            state[f'backbone.ts_aligners.{b}_{t}.bias'] = rnd(24)
    for task, out in TASKS.items():
        for b in blocks:
            p = f'backbone.mor.{b}_{task}.router.module'
            state[f'{p}.0.weight'], state[f'{p}.0.bias'] = rnd(16, d), rnd(16)
            state[f'{p}.1.weight'], state[f'{p}.1.bias'] = rnd(16), rnd(16)
            state[f'{p}.3.weight'], state[f'{p}.3.bias'] = rnd(6, 16), rnd(6)
        for k in range(4):
            state[f'heads.{task}.linears.{k}.weight'] = rnd(8, d)
            state[f'heads.{task}.linears.{k}.bias'] = rnd(8)
        state[f'heads.{task}.linear_fuse.0.weight'] = rnd(d, d, 3, 3)
        state[f'heads.{task}.linear_fuse.0.bias'] = rnd(d)
        for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
            state[f'heads.{task}.linear_fuse.1.{leaf}'] = rnd(d).abs()
        state[f'heads.{task}.linear_fuse.1.num_batches_tracked'] = \
            torch.tensor(7)
        state[f'heads.{task}.last_conv.weight'] = rnd(out, d, 1, 1)
        state[f'heads.{task}.last_conv.bias'] = rnd(out)
    return state


def build_student():
    head = lambda c: dict(  # noqa: E731
        type='SimpleHead', out_channels=c, loss=dict(type='MaskedL1Loss'))
    return MODELS.build(dict(
        type='SAKDistiller',
        build_teachers=False,
        teachers={t: {} for t in TEACHERS},
        backbone=dict(type='TSAPBackbone', stem=dict(
            type='mmpretrain.VisionTransformer',
            arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                      feedforward_channels=64),
            img_size=IMG, patch_size=16, final_norm=False, out_type='raw')),
        neck=dict(type='MoRNeck'),
        heads={t: head(c) for t, c in TASKS.items()}))


def test_converted_student_reproduces_timm_stem_and_places_every_part():
    from timm.models.vision_transformer import VisionTransformer
    vit = VisionTransformer(img_size=IMG, patch_size=16, embed_dim=32,
                            depth=4, num_heads=2, mlp_ratio=2.0,
                            num_classes=10).eval()
    state = reference_state(vit)
    converted = load_converter().convert_official_sak(
        state, drop_aligners=True)
    assert not any('aligners' in k or '.head.' in k for k in converted)
    model = build_student().eval()
    model.load_state_dict(converted, strict=True)

    # the TAS levels are the timm blocks' outputs, prefix token dropped
    x = torch.randn(2, 3, *IMG)
    blocks = []
    for blk in vit.blocks:
        blk.register_forward_hook(lambda m, i, o: blocks.append(o))
    with torch.no_grad():
        vit.forward_features(x)
        tas = model.backbone(x)['tas']
    for level in range(4):
        ref = blocks[level][:, 1:].transpose(1, 2).reshape(2, 32, 2, 3)
        torch.testing.assert_close(tas[level], ref, atol=1e-5, rtol=1e-5)

    # block b of the reference becomes level index(b); names are mapped
    sd = model.state_dict()
    torch.testing.assert_close(sd['backbone.out_norms.sam.2.weight'],
                               state['backbone.out_norms.2_sam.weight'])
    torch.testing.assert_close(
        sd['neck.routers.depth_3.mlp.3.weight'],
        state['backbone.mor.3_depth.router.module.3.weight'])
    torch.testing.assert_close(sd['heads.semseg.fuse.1.running_var'],
                               state['heads.semseg.linear_fuse.1.running_var'])
    torch.testing.assert_close(sd['heads.depth.cls.bias'],
                               state['heads.depth.last_conv.bias'])
    torch.testing.assert_close(sd['backbone.adapters.dinov2.4.scale'],
                               state['backbone.tsap.dinov2.4.scale'])


def test_aligners_kept_by_default_and_unknown_keys_rejected():
    from timm.models.vision_transformer import VisionTransformer
    vit = VisionTransformer(img_size=IMG, patch_size=16, embed_dim=32,
                            depth=4, num_heads=2, num_classes=0)
    conv = load_converter()
    converted = conv.convert_official_sak(reference_state(vit))
    assert converted['backbone.aligners.sam.1.weight'].shape == (24, 32)
    with pytest.raises(KeyError, match='cannot convert'):
        conv.convert_official_sak({'backbone.extra.weight': torch.zeros(1)})


def test_timm_vit_converter_feeds_the_stem_pretrained_init(tmp_path):
    from timm.models.vision_transformer import VisionTransformer
    spec = importlib.util.spec_from_file_location(
        'timm_vit_to_mmpretrain',
        osp.join(ROOT, 'tools', 'model_converters',
                 'timm_vit_to_mmpretrain.py'))
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    vit = VisionTransformer(img_size=IMG, patch_size=16, embed_dim=32,
                            depth=4, num_heads=2, mlp_ratio=2.0,
                            num_classes=5, init_values=0.1).eval()
    path = tmp_path / 'vit.pth'
    torch.save({'meta': {}, 'state_dict': conv.convert(vit.state_dict())},
               path)
    stem = MODELS.build(dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                  feedforward_channels=64),
        img_size=IMG, patch_size=16, layer_scale_init_value=0.1,
        final_norm=True, out_type='raw', out_indices=[3],
        init_cfg=dict(type='Pretrained', checkpoint=str(path),
                      prefix='backbone.')))
    stem.init_weights()
    stem.eval()
    x = torch.randn(1, 3, *IMG)
    with torch.no_grad():
        torch.testing.assert_close(stem(x)[0], vit.forward_features(x),
                                   atol=1e-5, rtol=1e-5)
