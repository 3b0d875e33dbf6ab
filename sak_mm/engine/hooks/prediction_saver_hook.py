# Copyright (c) sak_mm contributors. All rights reserved.
"""Write every test prediction to disk, e.g. for external evaluators."""
import os
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from PIL import Image

from sak_mm.registry import HOOKS
from sak_mm.structures import get_field


def _to_uint8(prob: np.ndarray) -> np.ndarray:
    """``[0, 1]`` -> ``uint8`` by truncation, as the SAK reference saves."""
    return (np.clip(prob, 0, 1) * 255).astype(np.uint8)


def save_prediction(task: str, pred: np.ndarray, folder: str,
                    name: str) -> str:
    """Save one ``(C, H, W)`` prediction in its task's file format; returns
    the path.

    * boundary: ``<folder>/edge/img/<name>.png``, 8-bit probability — the
      layout the SEISM boundary benchmark reads;
    * saliency: ``<folder>/<task>/<name>.png``, 8-bit probability;
    * label maps: ``<folder>/<task>/<name>.png``, class indices;
    * normals: ``<folder>/<task>/<name>.png``, RGB ``(n + 1) / 2``;
    * depth: ``<folder>/<task>/<name>.npy``, metres (float32).
    """
    kind = get_field(task).kind
    sub = osp.join(folder, task, 'img') if kind == 'boundary' else \
        osp.join(folder, task)
    os.makedirs(sub, exist_ok=True)
    if kind == 'depth':
        path = osp.join(sub, name + '.npy')
        np.save(path, pred[0].astype(np.float32))
        return path
    if kind in ('boundary', 'saliency'):
        image = Image.fromarray(_to_uint8(pred[0]), mode='L')
    elif kind == 'label':
        image = Image.fromarray(pred[0].astype(np.uint8), mode='L')
    else:  # normals
        rgb = _to_uint8((np.moveaxis(pred, 0, -1) + 1) / 2)
        image = Image.fromarray(rgb, mode='RGB')
    path = osp.join(sub, name + '.png')
    image.save(path)
    return path


@HOOKS.register_module()
class PredictionSaverHook(Hook):
    """Save each test image's predictions under ``out_dir`` (relative paths
    are taken inside the work dir), one folder per task, files named after
    the image (``tools/test.py --save-preds DIR``)."""

    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None):
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if self.out_dir is None:
            return
        folder = osp.join(runner.work_dir, self.out_dir)
        for sample in outputs:
            name = osp.splitext(osp.basename(sample.img_path))[0]
            for task, pred in sample.pred.items():
                save_prediction(task, pred.detach().float().cpu().numpy(),
                                folder, name)
