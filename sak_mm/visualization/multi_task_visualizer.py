# Copyright (c) sak_mm contributors. All rights reserved.
"""A Visualizer that draws an image with its ground truth and predictions."""
from typing import Optional

import numpy as np
from mmengine.visualization import Visualizer

from sak_mm.registry import VISUALIZERS
from sak_mm.structures import MultiTaskDataSample, get_field


@VISUALIZERS.register_module()
class MultiTaskVisualizer(Visualizer):
    """Renders one sample as a grid: the image, then one column per task
    with the ground truth on the first row and the prediction below.

    Each task's field renders its maps (:class:`~sak_mm.structures.
    FieldKind`): semantic labels with a fixed palette, depth through the
    'magma' colormap (ground truth and prediction on one scale), normals
    ``(n + 1) / 2`` as RGB, boundaries and saliency as grey levels. Tasks
    without ground truth (or without prediction) leave their cell black.
    """

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[MultiTaskDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw and (optionally) save/show/log the grid; returns it."""
        image = np.asarray(image, dtype=np.uint8)
        h, w = image.shape[:2]
        gt = data_sample.gt if draw_gt and data_sample is not None and \
            'gt' in data_sample else None
        pred = data_sample.pred if draw_pred and data_sample is not None \
            and 'pred' in data_sample else None
        tasks = []
        for source in (gt, pred):
            for task in (source.keys() if source is not None else []):
                if task not in tasks:
                    tasks.append(task)
        rows = [s for s in (gt, pred) if s is not None] or [None]
        blank = np.zeros((h, w, 3), np.uint8)
        grid = []
        for r, source in enumerate(rows):
            cells = [image if r == 0 else blank]
            for task in tasks:
                cells.append(self._cell(task, source, gt, (h, w)))
            grid.append(np.concatenate(cells, axis=1))
        drawn = np.concatenate(grid, axis=0)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import cv2
            cv2.imwrite(out_file, drawn[..., ::-1])
        else:
            self.add_image(name, drawn, step)
        return drawn

    @staticmethod
    def _cell(task, source, gt, shape) -> np.ndarray:
        if source is None or task not in source:
            return np.zeros((*shape, 3), np.uint8)
        reference = gt.get(task) if gt is not None and task in gt else None
        cell = get_field(task).render(source.get(task), gt=reference)
        if cell.shape[:2] != shape:
            import cv2
            cell = cv2.resize(cell, shape[::-1],
                              interpolation=cv2.INTER_NEAREST)
        return cell
