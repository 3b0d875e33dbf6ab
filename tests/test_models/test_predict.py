# Copyright (c) sak_mm contributors. All rights reserved.
"""``model.predict(images)`` (a notebook's call) and ``model.predict(images,
samples)`` (the Runner's) on every model class: the SAK student, the
multi-task baseline, a frozen-teacher probe and FGMoE."""
import pytest
import torch

import projects.fgmoe.fgmoe  # noqa: F401  (registers the decoder)
from sak_mm.registry import MODELS
from tests.conftest import CROP, tiny_mtl_cfg, tiny_sak_cfg, tiny_teachers
from tests.test_models.test_distiller import make_batch
from tests.test_projects.test_fgmoe_model import fgmoe_cfg

TASKS = {'semseg', 'depth', 'normals', 'edge'}
MODELS_UNDER_TEST = {
    'sak': lambda: tiny_sak_cfg(build_teachers=False),
    'mtl-baseline': tiny_mtl_cfg,
    'probe': lambda: tiny_mtl_cfg(backbone=dict(
        type='FrozenTeacherBackbone', teacher=tiny_teachers()['clip'])),
    'fgmoe': fgmoe_cfg,
}


@pytest.fixture(scope='module', params=list(MODELS_UNDER_TEST))
def model(request):
    torch.manual_seed(0)
    return request.param, MODELS.build(MODELS_UNDER_TEST[request.param]())


def test_predict_without_samples_describes_the_images(model):
    name, model = model
    model.eval()
    images = torch.randn(2, 3, *CROP)
    with torch.no_grad():
        samples = model.predict(images)
        logits = model(images, mode='tensor')
    assert len(samples) == 2
    for i, sample in enumerate(samples):
        assert sample.metainfo['batch_input_shape'] == CROP
        assert set(sample.pred.keys()) == TASKS
        assert sample.pred.semseg.shape == (1, *CROP)
        assert sample.pred.semseg.dtype == torch.long
        # each prediction is its task's activation of the logits at the
        # image's size
        head = model.heads.task_head('depth')
        expected = head.field.activate(torch.nn.functional.interpolate(
            logits['depth'], size=CROP, mode='bilinear',
            align_corners=False))
        torch.testing.assert_close(sample.pred.depth, expected[i])
    assert ('gate_scores' in samples[0]) == (name == 'sak')


def test_predict_with_samples_crops_each_image_back(model):
    """Images smaller than the batch, centred in it by the data
    preprocessor: each prediction comes back at its own image's size."""
    name, model = model
    model.eval()
    batch = make_batch(with_gt=False)
    batch['inputs'] = [img[:, :40, :50] for img in batch['inputs']]
    for sample in batch['data_samples']:
        sample.set_metainfo(dict(img_shape=(40, 50), ori_shape=(40, 50)))
    data = model.data_preprocessor(batch, training=False)
    with torch.no_grad():
        samples = model.predict(data['inputs'], data['data_samples'])
    for sample in samples:
        assert set(sample.pred.keys()) == TASKS
        assert all(sample.pred.get(t).shape[-2:] == (40, 50) for t in TASKS)
