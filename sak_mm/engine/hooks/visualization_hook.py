# Copyright (c) sak_mm contributors. All rights reserved.
"""Draw predictions next to the ground truth during validation / testing."""
import os
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from PIL import Image

from sak_mm.registry import HOOKS


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Render samples with the runner's :class:`MultiTaskVisualizer`.

    In validation, every ``interval``-th batch's first sample is sent to the
    visualizer backends (when ``draw`` is True). In testing with
    ``show_dir``, every sample is written to ``<work_dir>/<show_dir>/`` as a
    PNG named after its image (``tools/test.py --show-dir``).

    Args:
        draw (bool): Draw during validation.
        interval (int): Validation batches between two drawings.
        show_dir (str, optional): Test output folder, relative to the work
            dir (or absolute).
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 50,
                 show_dir: Optional[str] = None):
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir

    @staticmethod
    def _image(sample) -> np.ndarray:
        with Image.open(sample.img_path) as img:
            return np.asarray(img.convert('RGB'))

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        if not self.draw or batch_idx % self.interval:
            return
        sample = outputs[0]
        runner.visualizer.add_datasample(
            osp.basename(sample.img_path), self._image(sample), sample,
            step=runner.iter)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if self.show_dir is None:
            return
        folder = osp.join(runner.work_dir, self.show_dir)
        os.makedirs(folder, exist_ok=True)
        for sample in outputs:
            name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
            runner.visualizer.add_datasample(
                name, self._image(sample), sample,
                out_file=osp.join(folder, name))
