# Copyright (c) sak_mm contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.structures import PixelData

from sak_mm.registry import MODELS
from sak_mm.structures import MultiTaskDataSample
from tests.conftest import (CROP, NYUD_HEADS, tiny_mtl_cfg, tiny_sak_cfg,
                            tiny_teachers)


def make_batch(b=2, with_gt=True):
    samples = []
    for _ in range(b):
        s = MultiTaskDataSample(metainfo=dict(img_shape=CROP,
                                              ori_shape=CROP))
        if with_gt:
            s.gt = PixelData(
                semseg=torch.randint(0, 40, (1, *CROP)),
                depth=torch.rand(1, *CROP) + 0.5,
                normals=torch.nn.functional.normalize(
                    torch.randn(3, *CROP), dim=0),
                edge=(torch.rand(1, *CROP) > 0.9).float())
        samples.append(s)
    inputs = torch.randint(0, 255, (b, 3, *CROP), dtype=torch.uint8)
    return dict(inputs=list(inputs), data_samples=samples)


def test_stage2_losses_are_named_and_backpropagate():
    model = MODELS.build(tiny_sak_cfg())
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    distill = [k for k in losses if k.startswith('distill.')]
    assert len(distill) == 3 * 4 * 3
    # one entry per teacher and level trains; its two terms are logged
    level = {k: losses[f'distill.sam.l4.{k}'] for k in ('loss', 'cos', 'sl1')}
    torch.testing.assert_close(level['loss'], level['cos'] + level['sl1'])
    assert not level['cos'].requires_grad
    assert {k for k in losses if k.startswith('decode.')} == {
        'decode.semseg.loss_ce', 'decode.depth.loss_l1',
        'decode.normals.loss_l1', 'decode.edge.loss_bce'
    }
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(
        total, sum(v for k, v in losses.items() if k.endswith('.loss')
                   or k.startswith('decode.')))
    assert 'distill.sam.l4.cos' in log_vars
    total.backward()
    assert model.backbone.adapters['sam'][0].down.weight.grad is not None
    router = model.neck.routers['depth_3'].mlp[0].weight
    assert router.grad is not None and router.grad.abs().sum() > 0
    for teacher in model.teacher_models.values():
        assert all(p.grad is None for p in teacher.parameters())


def assert_identical_steps(step, reference):
    """Two training steps' ``(losses, gradients)`` dicts, bit for bit."""
    for got, expected in zip(step, reference):
        assert got.keys() == expected.keys()
        for key in got:
            assert torch.equal(got[key], expected[key]), key


def test_teachers_are_not_in_checkpoints_or_optimizer_and_follow_inputs():
    model = MODELS.build(tiny_sak_cfg())
    keys = list(model.state_dict())
    assert not any('teacher' in k for k in keys)
    names = [n for n, _ in model.named_parameters()]
    assert not any('teacher' in n or n.startswith('model.') for n in names)
    model.double()
    t = model.teacher_models['sam']
    assert next(t.parameters()).dtype == torch.float32  # their own dtype
    # the student checkpoint round-trips without teacher keys
    fresh = MODELS.build(tiny_sak_cfg()).double()
    fresh.load_state_dict(model.state_dict(), strict=True)
    # a teacher runs where its input is (the student moved to a GPU: its
    # first batch moves the teachers there too); 'meta' stands in for it
    t.follow(torch.zeros(1, device='meta'))
    assert {p.device.type for p in t.parameters()} == {'meta'}
    assert t.gain.device.type == 'meta'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_teachers_move_to_the_device_of_their_first_batch():
    model = MODELS.build(tiny_sak_cfg()).cuda()
    data = model.data_preprocessor(make_batch(), training=True)
    model(**data, mode='loss')
    for teacher in model.teacher_models.values():
        assert {p.device.type for p in teacher.parameters()} == {'cuda'}


def test_stage1_is_distillation_only():
    model = MODELS.build(tiny_sak_cfg(neck=None, heads=None))
    assert model.tasks == [] and model.heads is None
    data = model.data_preprocessor(make_batch(with_gt=False), training=True)
    losses = model(**data, mode='loss')
    assert all(k.startswith('distill.') for k in losses)
    with pytest.raises(RuntimeError, match='nothing to predict'):
        model(**data, mode='predict')


def test_multitask_baseline_is_the_sak_stem_alone_under_the_same_heads():
    """The baseline (a MultiTaskEncoderDecoder on the TAS) has the SAK
    student's stem and heads, under their state-dict keys (a checkpoint
    of the former teacher-less SAKDistiller loads strictly), and its
    levels are the student's TAS levels for the same weights."""
    sak = MODELS.build(tiny_sak_cfg(build_teachers=False)).eval()
    model = MODELS.build(tiny_mtl_cfg()).eval()
    kept = {k: v for k, v in sak.state_dict().items()
            if k.startswith(('backbone.stem.', 'heads.'))}
    model.load_state_dict(kept, strict=True)
    images = torch.randn(2, 3, *CROP)
    with torch.no_grad():
        for ours, tas in zip(model.backbone(images),
                             sak.backbone(images)['tas']):
            torch.testing.assert_close(ours, tas, rtol=0, atol=0)
    model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert sorted(losses) == sorted(f'decode.{t}.{n}' for t, n in [
        ('semseg', 'loss_ce'), ('depth', 'loss_l1'), ('normals', 'loss_l1'),
        ('edge', 'loss_bce')
    ])


def test_wiring_is_validated_at_build_time():
    cfg = tiny_sak_cfg(aligners=False)
    with pytest.raises(ValueError, match='widths'):
        MODELS.build(cfg)  # the tiny DINOv2 is 24 wide, the student 32
    cfg = tiny_sak_cfg()
    cfg['backbone']['teachers'] = ['sam', 'clip', 'dinov2']
    with pytest.raises(ValueError, match='same order'):
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='needs a decoder'):
        MODELS.build(tiny_sak_cfg(heads=None))
    with pytest.raises(ValueError, match='MultiTaskEncoderDecoder'):
        MODELS.build(tiny_sak_cfg(teachers={}, neck=None))
    bad_heads = copy.deepcopy(NYUD_HEADS)
    bad_heads['segm'] = bad_heads.pop('semseg')
    with pytest.raises(KeyError, match='unknown dense field'):
        MODELS.build(tiny_sak_cfg(heads=bad_heads))


def test_predict_crops_padding_and_exposes_gates():
    model = MODELS.build(tiny_sak_cfg()).eval()
    # two images smaller than the pad size, centred in a 48x64 canvas
    batch = make_batch()
    batch['inputs'] = [img[:, :40, :50] for img in batch['inputs']]
    for s in batch['data_samples']:
        s.set_metainfo(dict(img_shape=(40, 50), ori_shape=(40, 50)))
        del s.gt
    data = model.data_preprocessor(batch, training=False)
    assert data['inputs'].shape[-2:] == (48, 64)
    assert data['data_samples'][0].pad_offset == (4, 7)
    with torch.no_grad():
        out = model(**data, mode='predict')
        logits = model(data['inputs'], mode='tensor')
    pred = out[0].pred
    assert pred.semseg.shape == (1, 40, 50) and pred.semseg.dtype == torch.long
    assert pred.depth.min() >= 0
    torch.testing.assert_close(pred.normals.norm(dim=0),
                               torch.ones(40, 50))
    assert 0 <= pred.edge.min() and pred.edge.max() <= 1
    # the crop is the centre of the full-canvas prediction
    full = torch.nn.functional.interpolate(
        logits['depth'], (48, 64), mode='bilinear', align_corners=False)
    torch.testing.assert_close(pred.depth, full[0, :, 4:44, 7:57].clamp(min=0))
    gates = out[1].gate_scores
    assert set(gates) == set(NYUD_HEADS) and gates['edge'].shape == (4, 4)
    torch.testing.assert_close(gates['edge'].sum(-1), torch.ones(4))


def test_student_only_build_keeps_adapter_paths_for_testing():
    trained = MODELS.build(tiny_sak_cfg())
    assert trained.backbone.aligners is not None  # DINOv2 is 24 wide
    student = MODELS.build(tiny_sak_cfg(build_teachers=False))
    assert student.teacher_models == {} and student.distill_loss is None
    assert student.backbone.teachers == ['dinov2', 'clip', 'sam']
    assert student.backbone.aligners is None
    # loads the trained model strictly; the distillation-only aligners drop
    student.load_state_dict(trained.state_dict(), strict=True)
    trained.eval(), student.eval()
    x = torch.randn(1, 3, *CROP)
    with torch.no_grad():
        torch.testing.assert_close(student(x)['normals'], trained(x)['normals'])


def test_runner_weight_init_leaves_loaded_teachers_alone():
    model = MODELS.build(tiny_sak_cfg())
    before = {n: t.model.state_dict()['pos_embed'].clone()
              for n, t in model.teacher_models.items() if n != 'clip'}
    adapter = model.backbone.adapters['sam'][0].up.weight.clone()
    model.init_weights()  # what the Runner calls before training
    for name, pos in before.items():
        torch.testing.assert_close(
            model.teacher_models[name].model.state_dict()['pos_embed'], pos)
    # the stem is (re)initialised, the adapters keep their own init
    torch.testing.assert_close(model.backbone.adapters['sam'][0].up.weight,
                               adapter)


def test_many_to_one_student_distils_the_shared_representation():
    cfg = tiny_sak_cfg(neck=None, aligners=True)
    cfg['backbone']['adapter_paths'] = False
    model = MODELS.build(cfg)
    assert len(list(model.backbone.adapters.parameters())) == 0
    assert set(model.backbone.aligners) == {'dinov2', 'clip', 'sam'}
    x = torch.randn(1, 3, *CROP)
    feats = model.backbone(x)
    assert all(feats['tsap'][t] is feats['tas'] for t in feats['tsap'])
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert 'distill.clip.l2.loss' in losses
    model.parse_losses(losses)[0].backward()
    # every teacher pulls on the one stem through its own aligner
    assert model.backbone.aligners['sam'][1].weight.grad is not None
    assert model.backbone.stem.layers[0].attn.qkv.weight.grad is not None


def test_frozen_teacher_probe_trains_only_the_heads(tmp_path):
    teacher = tiny_sak_cfg()['teachers']['sam']
    model = MODELS.build(tiny_mtl_cfg(
        backbone=dict(type='FrozenTeacherBackbone', teacher=teacher)))
    assert all(k.startswith('heads.') for k in model.state_dict())
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith('heads.') for n in trainable)
    assert not list(model.backbone.parameters())
    data = model.data_preprocessor(make_batch(), training=True)
    losses = model(**data, mode='loss')
    assert not any(k.startswith('distill.') for k in losses)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.backbone.teacher.parameters())
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(make_batch(), False),
                    mode='predict')
    assert out[0].pred.semseg.shape == (1, *CROP)


def test_tasks_pick_heads_from_the_table_and_crop_reaches_the_parts():
    """``tasks`` decodes a subset of the heads (a single-task model is its
    multi-task config with one task); ``crop_size`` builds the stem and the
    crop-sized teachers for the crop and pads batches to it."""
    model = MODELS.build(tiny_mtl_cfg(tasks=['depth']))
    assert model.tasks == ['depth'] and list(model.heads.tasks) == ['depth']
    sak = MODELS.build(tiny_sak_cfg(tasks=['edge', 'semseg']))
    assert sak.tasks == ['edge', 'semseg']
    assert sak.neck.tasks == ['edge', 'semseg']
    with pytest.raises(KeyError, match=r"tasks \['sal'\] have no head"):
        MODELS.build(tiny_mtl_cfg(tasks=['sal']))
    teachers = tiny_teachers()
    del teachers['clip']['img_size']
    cfg = tiny_sak_cfg(teachers=teachers, crop_size=(32, 48),
                       data_preprocessor=None)
    cfg['backbone']['stem'].pop('img_size')
    sak = MODELS.build(cfg)
    assert sak.backbone.stem.patch_resolution == (2, 3)
    assert sak.teacher_models['clip'].grid == (2, 3)
    assert sak.teacher_models['dinov2'].model.patch_resolution == (2, 2)
    assert sak.teacher_models['sam'].img_size == 64  # its own canvas
    assert sak.data_preprocessor.pad_size == (32, 48)
