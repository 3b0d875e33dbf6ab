# Copyright (c) sak_mm contributors. All rights reserved.
import torch
import torch.nn.functional as F

from sak_mm.registry import METRICS
from sak_mm.structures import get_field
from .base_task_metric import BaseTaskMetric


@METRICS.register_module()
class NormalsMetric(BaseTaskMetric):
    """Mean angular error in degrees over all valid pixels of the dataset.

    Prediction and ground truth are L2-normalised; the angle is computed as
    ``2 * atan2(|p - g|, |p + g|)``, which stays accurate near 0 and 180
    degrees (the SAK reference's formula).
    """

    lower_is_better = ('mErr', )

    def __init__(self, task: str = 'normals', **kwargs):
        super().__init__(task=task, **kwargs)
        self.field = get_field(task)

    def accumulate(self, pred: torch.Tensor, gt: torch.Tensor):
        valid = self.field.valid_mask(gt)[0]
        p = F.normalize(pred.float(), dim=0)
        g = F.normalize(gt.float(), dim=0)
        angle = torch.rad2deg(2 * torch.atan2((p - g).norm(dim=0),
                                              (p + g).norm(dim=0)))
        return float(angle[valid].sum()), int(valid.sum())

    def compute_metrics(self, results: list) -> dict:
        total = sum(r[0] for r in results)
        n = sum(r[1] for r in results)
        return {'mErr': total / n if n else float('nan')}
