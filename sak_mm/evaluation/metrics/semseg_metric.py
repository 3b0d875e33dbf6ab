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
    of the whole dataset has no defined IoU. The standard multi-task
    protocol (MTI-Net's and ATRC's ``eval_semseg``, the SAK reference:
    ``TP / max(TP + FP + FN, 1e-8)`` averaged over every class) counts it as
    0; mmseg's ``IoUMetric`` (a nanmean) leaves it out. The two agree
    whenever every class occurs, as on the NYUD-v2 and PASCAL-Context val
    sets, and differ on any subset a user evaluates while developing.

    Args:
        num_classes (int): 40 for NYUD-v2.
        task (str): Defaults to ``'semseg'``.
        absent (str): An absent class's IoU: ``'zero'`` (default, the
            standard protocol) or ``'skip'`` (left out of the mean, mmseg).
    """

    ABSENT = ('zero', 'skip')

    def __init__(self, num_classes: int, task: str = 'semseg',
                 absent: str = 'zero', **kwargs):
        super().__init__(task=task, **kwargs)
        if absent not in self.ABSENT:
            raise ValueError(f'{task}: absent={absent!r}; choose one of '
                             f'{self.ABSENT}')
        self.num_classes = num_classes
        self.absent = absent

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
        if self.absent == 'zero':
            iou = tp / np.maximum(union, 1e-8)
        else:
            iou = tp[present] / union[present]
        if (~present).any():
            how = 'count as IoU 0 (the standard protocol; absent=\'skip\' ' \
                'leaves them out, as mmseg)' if self.absent == 'zero' else \
                'are left out of mIoU (absent=\'skip\', as mmseg)'
            print_log(f'{self.task}: {int((~present).sum())} of '
                      f'{self.num_classes} classes absent from ground truth '
                      f'and predictions {how}', logger='current')
        return {'mIoU': float(iou.mean() * 100) if iou.size else 0.0}
