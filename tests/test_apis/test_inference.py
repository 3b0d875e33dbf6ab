# Copyright (c) sak_mm contributors. All rights reserved.
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from sak_mm.apis import inference_model, init_model
from sak_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')


def test_init_model_loads_a_trained_student_and_predicts(tmp_path,
                                                         demo_root):
    cfg = Config.fromfile(CONFIG)
    trained = MODELS.build(cfg.model)  # with teachers (and an aligner)
    path = tmp_path / 'student.pth'
    torch.save({'meta': {}, 'state_dict': trained.state_dict()}, path)

    model = init_model(CONFIG, str(path))
    assert model.teacher_models == {} and not model.training
    torch.testing.assert_close(model.backbone.adapters['sam'][2].up.weight,
                               trained.backbone.adapters['sam'][2].up.weight)

    img_path = osp.join(demo_root, 'images', 'val_0000.png')
    from_file = inference_model(model, img_path)
    array = np.asarray(Image.open(img_path).convert('RGB'))
    from_array, second = inference_model(model, [array, array])
    assert from_file.pred.semseg.shape == (1, 60, 80)
    assert from_file.pred.normals.shape == (3, 60, 80)
    assert set(from_file.gate_scores) == {'semseg', 'depth', 'normals',
                                          'edge'}
    torch.testing.assert_close(from_file.pred.depth, from_array.pred.depth)
    torch.testing.assert_close(second.pred.edge, from_array.pred.edge)
