# Copyright (c) sak_mm contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
import torch

from sak_mm.registry import METRICS
from sak_mm.structures import IGNORE_INDEX
from .base_task_metric import BaseTaskMetric


@METRICS.register_module()
class SaliencyMetric(BaseTaskMetric):
    """Saliency maxF and mIoU over a range of thresholds.

    The predicted foreground probability is binarised at each threshold
    ``0.05, 0.10, ..., 0.95`` (``p >= t``). True, predicted and actual
    positives are summed over the dataset's valid pixels; ``maxF`` is the
    best ``F = (1 + b2) P R / (b2 P + R)`` with ``b2 = 0.3`` over thresholds.
    ``mIoU`` is the best, over thresholds, of the per-image foreground IoU
    averaged over images (an image whose prediction and label are both empty
    scores 1). Both in percent, as in the SAK reference.

    Args:
        beta2 (float): ``b2`` of the F-measure.
        step (float): Threshold spacing of the default grid.
        thresholds (Sequence[float], optional): The thresholds instead of
            the grid; MTLoRA's saliency mIoU (the decoder-only protocol) uses
            the 15 values ``0.20, 0.25, ..., 0.90``.
    """

    def __init__(self, task: str = 'sal', beta2: float = 0.3,
                 step: float = 0.05,
                 thresholds: Optional[Sequence[float]] = None, **kwargs):
        super().__init__(task=task, **kwargs)
        self.beta2 = beta2
        if thresholds is None:
            n = int(round(1 / step)) - 1
            thresholds = [step * (k + 1) for k in range(n)]
        self.thresholds = torch.tensor([float(t) for t in thresholds])

    def accumulate(self, pred: torch.Tensor, gt: torch.Tensor):
        valid = gt != IGNORE_INDEX
        prob = pred.float()[valid].cpu()
        target = gt[valid].cpu().bool()
        positive = prob[None, :] >= self.thresholds[:, None]  # T, N
        tp = (positive & target).sum(1)
        inter = tp.double()
        union = (positive | target).sum(1).double()
        iou = torch.where(union > 0, inter / union.clamp(min=1),
                          torch.ones_like(union))
        return (tp.numpy(), positive.sum(1).numpy(),
                np.full(len(self.thresholds), int(target.sum())),
                iou.numpy())

    def compute_metrics(self, results: list) -> dict:
        tp = np.sum([r[0] for r in results], axis=0).astype(np.float64)
        pp = np.sum([r[1] for r in results], axis=0).astype(np.float64)
        ap = np.sum([r[2] for r in results], axis=0).astype(np.float64)
        precision = tp / (pp + 1e-8)
        recall = tp / (ap + 1e-8)
        f = (1 + self.beta2) * precision * recall / (
            self.beta2 * precision + recall + 1e-8)
        iou = np.mean([r[3] for r in results], axis=0)
        return {'maxF': float(f.max() * 100), 'mIoU': float(iou.max() * 100)}
