# Copyright (c) sak_mm contributors. All rights reserved.
"""Field kinds own their maps' behaviour, and a project adds a task and an
annotation format by registering them, without touching the core."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from sak_mm.datasets.transforms import (LoadDenseAnnotations,
                                        PackMultiTaskInputs,
                                        RandomHorizontalFlip, RandomRescale,
                                        RandomRotate)
from sak_mm.models import MultiTaskDataPreprocessor
from sak_mm.registry import ANNOTATION_FORMATS, FIELD_KINDS
from sak_mm.structures import (DENSE_FIELDS, IGNORE_INDEX, FieldKind,
                               get_field, register_field)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_builtin_kinds_say_validity_activation_and_geometry():
    semseg, depth, normals, edge, sal = (get_field(n) for n in (
        'semseg', 'depth', 'normals', 'edge', 'sal'))
    assert semseg.is_integer and sal.is_integer and not depth.is_integer
    assert {get_field(n).interpolation for n in DENSE_FIELDS} == {'nearest'}
    gt = torch.tensor([[[[0, 255], [3, 1]]]])
    assert semseg.valid_mask(gt).tolist() == [[[[True, False], [True, True]]]]
    assert depth.valid_mask(torch.tensor([[[[0.0, 2.0]]]])).tolist() == [[[[
        False, True]]]]
    n = torch.zeros(1, 3, 1, 2)
    n[0, 2, 0, 1] = 1
    assert normals.valid_mask(n).tolist() == [[[[False, True]]]]
    logits = torch.randn(2, 3, 4, 5)
    assert torch.equal(semseg.activate(logits), logits.argmax(1, True))
    torch.testing.assert_close(normals.activate(logits).norm(dim=1),
                               torch.ones(2, 4, 5))
    assert torch.equal(sal.activate(logits[:, :2]),
                       logits[:, :2].softmax(1)[:, 1:])
    assert torch.equal(edge.activate(logits[:, :1]),
                       torch.sigmoid(logits[:, :1]))
    arr = np.ones((2, 2, 3), np.float32)
    assert (depth.rescale_values(arr[..., :1], 2.0) == 0.5).all()
    assert (semseg.rescale_values(arr[..., :1], 2.0) == 1).all()
    assert (normals.flip_values(arr)[..., 0] == -1).all()
    up = np.zeros((1, 1, 3), np.float32)
    up[..., 1] = 1  # (0, 1, 0): facing up
    np.testing.assert_allclose(normals.rotate_values(up, 90)[0, 0],
                               [-1, 0, 0], atol=1e-6)  # now facing left
    # every pad value reads as unannotated
    for field in DENSE_FIELDS.values():
        pad = torch.full((field.channels, 1, 1), float(field.pad_value))
        assert not field.valid_mask(pad).any(), field.name


def test_rotation_turns_maps_and_normals_with_the_image():
    """90 degrees counter-clockwise: a marker at the bottom centre moves to
    the right centre, an upward normal turns to face left, the corners
    outside the source read as unannotated."""
    h = w = 9
    img = np.zeros((h, w, 3), np.uint8)
    img[8, 4] = 255
    label = np.zeros((h, w, 1), np.float32)
    label[8, 4] = 7
    normals = np.zeros((h, w, 3), np.float32)
    normals[..., 1] = 1
    results = dict(img=img, img_shape=(h, w),
                   gt_fields=dict(semseg=label, normals=normals))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(np.random, 'uniform', lambda *a: 90.0)
        out = RandomRotate(prob=1.0, degree=(-90, 90))(results)
    assert out['rotate_degrees'] == 90.0
    assert out['img'][4, 8].tolist() == [255] * 3
    assert out['gt_fields']['semseg'][4, 8, 0] == 7
    np.testing.assert_allclose(out['gt_fields']['normals'][4, 4], [-1, 0, 0],
                               atol=1e-6)
    tilted = RandomRotate(prob=1.0, degree=(45, 45))(dict(
        img=np.zeros((h, w, 3), np.uint8), img_shape=(h, w),
        gt_fields=dict(semseg=np.zeros((h, w, 1), np.float32))))
    assert tilted['gt_fields']['semseg'][0, 0, 0] == IGNORE_INDEX
    skipped = RandomRotate(prob=0.0)(dict(img=img, img_shape=(h, w)))
    assert skipped['rotate_degrees'] == 0.0


@FIELD_KINDS.register_module('test_heat')
class HeatKind(FieldKind):
    """A project's kind: temperatures, NaN unannotated, halved by a flip
    (to see that the pipeline asks the kind)."""

    interpolation = 'bilinear'

    def valid_mask(self, gt):
        return ~torch.isnan(gt).any(dim=-3, keepdim=True)

    def activate(self, logits):
        return logits.exp()

    def flip_values(self, arr):
        return arr / 2


@ANNOTATION_FORMATS.register_module('test_heat_png')
def decode_heat(path, offset=0.0):
    with Image.open(path) as img:
        return np.asarray(img, np.float32)[..., None] + offset


def test_a_project_adds_a_task_and_a_format_by_registering_them(tmp_path):
    register_field('heat', 'test_heat', channels=1, pad_value=float('nan'))
    try:
        field = get_field('heat')
        assert isinstance(field.kind, HeatKind)
        Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 10).save(
            tmp_path / 'heat.png')
        results = dict(img=np.zeros((3, 4, 3), np.uint8), img_shape=(3, 4),
                       img_path='x.png', ori_shape=(3, 4),
                       gt_files=dict(heat=('test_heat_png',
                                           str(tmp_path / 'heat.png'),
                                           dict(offset=1.0))))
        results = LoadDenseAnnotations()(results)
        heat = results['gt_fields']['heat']
        assert heat[0, 1, 0] == 11.0
        flipped = RandomHorizontalFlip(prob=1.0)(dict(
            results, gt_fields=dict(heat=heat.copy())))['gt_fields']['heat']
        np.testing.assert_array_equal(flipped, heat[:, ::-1] / 2)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(np.random, 'uniform', lambda *a: 2.0)
            grown = RandomRescale((2.0, 2.0))(dict(
                results, gt_fields=dict(heat=heat.copy())))
        # bilinear: values between the source pixels appear
        assert len(np.unique(grown['gt_fields']['heat'])) > heat.size
        packed = PackMultiTaskInputs()(results)['data_samples']
        assert packed.gt.heat.dtype == torch.float32
        batch = MultiTaskDataPreprocessor(pad_size=(4, 6), size_divisor=1)(
            dict(inputs=[torch.zeros(3, 3, 4, dtype=torch.uint8)],
                 data_samples=[packed]), training=True)
        padded = batch['data_samples'][0].gt.heat
        assert padded.shape == (1, 4, 6)
        assert field.valid_mask(padded).sum() == 12  # the pad is invalid
        with pytest.raises(KeyError, match='already registered'):
            register_field('heat', 'depth', 1, 0.0)
        with pytest.raises(ValueError, match='reads as a valid'):
            register_field('heat2', 'depth', 1, 1.0)
        with pytest.raises(KeyError, match="unknown dense field kind 'warm'"):
            register_field('heat3', 'warm', 1, 0.0)
    finally:
        DENSE_FIELDS._fields.pop('heat')


def test_unknown_format_and_field_errors_list_the_known_ones():
    with pytest.raises(KeyError, match="known formats: .*'npy_depth'"):
        LoadDenseAnnotations()(dict(img_shape=(1, 1), gt_files=dict(
            depth=('npy_dpeth', 'x.npy'))))
    with pytest.raises(KeyError, match="known fields: .*'semseg'"):
        get_field('segm')


def test_metrics_do_not_import_the_data_pipeline():
    code = ('import sys, sak_mm.evaluation; '
            'print(any(m.startswith("sak_mm.datasets") for m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'
