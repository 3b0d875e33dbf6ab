# Copyright (c) sak_mm contributors. All rights reserved.
import math

import torch

from sak_mm.registry import METRICS
from .base_task_metric import BaseTaskMetric


@METRICS.register_module()
class DepthMetric(BaseTaskMetric):
    """Dataset-level RMSE over pixels with ``min_depth < gt < max_depth``;
    predictions are clamped to be non-negative (by the head) beforehand.

    ``RMSE = sqrt(sum of squared errors / number of valid pixels)`` over the
    whole dataset, as the SAK reference computes it.
    """

    lower_is_better = ('RMSE', )

    def __init__(self, task: str = 'depth', min_depth: float = 0.0,
                 max_depth: float = 80.0, **kwargs):
        super().__init__(task=task, **kwargs)
        self.min_depth = min_depth
        self.max_depth = max_depth

    def accumulate(self, pred: torch.Tensor, gt: torch.Tensor):
        valid = (gt > self.min_depth) & (gt < self.max_depth)
        err = (pred.float().clamp(min=0) - gt)[valid]
        return float((err**2).sum()), int(valid.sum())

    def compute_metrics(self, results: list) -> dict:
        sq = sum(r[0] for r in results)
        n = sum(r[1] for r in results)
        return {'RMSE': math.sqrt(sq / n) if n else float('nan')}
