# Copyright (c) sak_mm contributors. All rights reserved.
"""Write every test prediction to disk, e.g. for external evaluators."""
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.hooks import Hook

from sak_mm.registry import HOOKS
from sak_mm.structures import get_field


def save_prediction(task: str, pred: np.ndarray, folder: str,
                    name: str) -> str:
    """Save one ``(C, H, W)`` prediction in its task's file format (its
    field kind's, :meth:`~sak_mm.structures.FieldKind.save`); returns the
    path.

    * boundary: ``<folder>/<task>/img/<name>.png``, 8-bit probability — the
      layout the SEISM boundary benchmark reads;
    * saliency: ``<folder>/<task>/<name>.png``, 8-bit probability;
    * label maps: ``<folder>/<task>/<name>.png``, class indices;
    * normals: ``<folder>/<task>/<name>.png``, RGB ``(n + 1) / 2``;
    * depth: ``<folder>/<task>/<name>.npy``, metres (float32).
    """
    return get_field(task).save(pred, folder, name)


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
