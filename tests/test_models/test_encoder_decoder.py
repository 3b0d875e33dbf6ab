# Copyright (c) sak_mm contributors. All rights reserved.
"""The multi-task decoder contract on a teacher-free backbone + decoder
model, and the parameter report."""
import copy

import torch

from sak_mm.models.utils import component_parameters, parameter_table
from sak_mm.registry import MODELS
from tests.conftest import CROP, NYUD_HEADS, tiny_stem
from tests.test_models.test_distiller import make_batch


def task_heads_model(**kwargs):
    stem = tiny_stem()
    stem.pop('init_cfg', None)
    cfg = dict(
        type='MultiTaskEncoderDecoder',
        backbone=dict(stem, out_indices=(0, 1, 2, 3), out_type='featmap'),
        decoder=dict(type='TaskHeads', heads=copy.deepcopy(NYUD_HEADS),
                     in_channels=stem['arch']['embed_dims']),
        data_preprocessor=dict(type='MultiTaskDataPreprocessor',
                               pad_size=CROP))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_task_heads_decode_a_plain_backbone_with_prefixed_losses():
    model = task_heads_model()
    batch = model.data_preprocessor(make_batch(), training=True)
    losses = model(**batch, mode='loss')
    assert set(losses) == {
        'decode.semseg.loss_ce', 'decode.depth.loss_l1',
        'decode.normals.loss_l1', 'decode.edge.loss_bce'}
    sum(losses.values()).backward()
    assert model.heads.semseg.cls.weight.grad is not None
    model.eval()
    with torch.no_grad():
        samples = model(**model.data_preprocessor(make_batch()),
                        mode='predict')
    pred = samples[0].pred
    assert pred.semseg.shape == pred.depth.shape == (1, *CROP)
    assert torch.all(pred.edge >= 0) and torch.all(pred.edge <= 1)


def test_parameter_report_splits_trainable_and_frozen():
    model = task_heads_model(freeze_backbone=True)
    rows = {name: (t, f) for name, t, f in component_parameters(model, 1)}
    backbone = sum(p.numel() for p in model.backbone.parameters())
    heads = sum(p.numel() for p in model.heads.parameters())
    assert rows['backbone'] == (0, backbone)
    assert rows['heads'] == (heads, 0)
    assert rows['total'] == (heads, backbone)
    table = parameter_table(model)
    assert 'heads.semseg' in table and 'frozen (M)' in table
