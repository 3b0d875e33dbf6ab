# Copyright (c) sak_mm contributors. All rights reserved.
import numpy as np
import torch
from mmengine.logging import print_log

from sak_mm.registry import METRICS
from sak_mm.structures import IGNORE_INDEX
from .base_task_metric import BaseTaskMetric


@METRICS.register_module()
class SemSegMetric(BaseTaskMetric):
    """Mean IoU over classes from dataset-level true/false positives and
    false negatives (``IoU_c = TP / (TP + FP + FN)``), pixels labelled 255
    ignored.

    A class that appears neither in the ground truth nor in the predictions
    of the whole dataset has no defined IoU and is left out of the mean (the
    SAK reference counts it as 0; both agree whenever every class occurs, as
    on NYUD-v2 val).

    Args:
        num_classes (int): 40 for NYUD-v2.
        task (str): Defaults to ``'semseg'``.
    """

    def __init__(self, num_classes: int, task: str = 'semseg', **kwargs):
        super().__init__(task=task, **kwargs)
        self.num_classes = num_classes

    def accumulate(self, pred: torch.Tensor, gt: torch.Tensor):
        pred, gt = pred.flatten().long(), gt.flatten().long()
        valid = gt != IGNORE_INDEX
        n = self.num_classes
        if valid.any() and int(gt[valid].max()) >= n:
            raise ValueError(
                f'{self.task}: ground truth holds class {int(gt[valid].max())}'
                f' but the metric has num_classes={n}')
        hist = torch.bincount(
            gt[valid] * n + pred[valid].clamp(0, n - 1),
            minlength=n * n).reshape(n, n).cpu().numpy()
        return hist

    def compute_metrics(self, results: list) -> dict:
        hist = np.sum(results, axis=0).astype(np.float64)
        tp = np.diag(hist)
        union = hist.sum(0) + hist.sum(1) - tp
        present = union > 0
        iou = tp[present] / union[present]
        if (~present).any():
            print_log(f'{self.task}: {int((~present).sum())} class(es) absent '
                      f'from ground truth and predictions are left out of '
                      f'mIoU', logger='current')
        return {'mIoU': float(iou.mean() * 100) if iou.size else 0.0}
