# Copyright (c) sak_mm contributors. All rights reserved.
"""Feature distillation loss, eq. (5)."""
from typing import Dict, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.models.utils.checkpoint import check_with_cp, checkpointed
from sak_mm.registry import MODELS


def match_resolution(student: torch.Tensor, teacher: torch.Tensor):
    """Bilinearly resize one map to the other's size, as the SAK reference
    does: the student's to the teacher's when the teacher's map is taller,
    the teacher's to the student's otherwise."""
    if student.shape[-2:] == teacher.shape[-2:]:
        return student, teacher
    if teacher.shape[-2] > student.shape[-2]:
        student = F.interpolate(
            student, teacher.shape[-2:], mode='bilinear', align_corners=False)
    else:
        teacher = F.interpolate(
            teacher, student.shape[-2:], mode='bilinear', align_corners=False)
    return student, teacher


@MODELS.register_module()
class DistillLoss(nn.Module):
    """``cos_weight * L_cos + smooth_l1_weight * L_smoothL1`` for one teacher
    level, times ``loss_weight`` (``gamma`` of eq. (6) in stage 2).

    ``L_cos`` is ``1 - cos`` between each sample's flattened student and
    teacher maps, averaged over the batch (cosine-embedding loss, target 1);
    ``L_smoothL1`` is the element-wise mean with ``beta``. The maps are
    first brought to one size (:func:`match_resolution`).

    ``with_cp`` (True or ``'selective'``: the same here) recomputes the
    loss in backward from its two inputs instead of keeping its fp32
    intermediates at the teacher's resolution
    (:mod:`sak_mm.models.utils.checkpoint`); the same values.
    """

    def __init__(self,
                 cos_weight: float = 0.9,
                 smooth_l1_weight: float = 0.1,
                 beta: float = 1.0,
                 loss_weight: float = 1.0,
                 with_cp: Union[bool, str] = False):
        super().__init__()
        self.cos_weight = cos_weight
        self.smooth_l1_weight = smooth_l1_weight
        self.beta = beta
        self.loss_weight = loss_weight
        self.with_cp = check_with_cp(with_cp)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss``: the weighted sum, the one entry that trains; ``cos``
        and ``sl1``: its two weighted terms, detached, for the logs (no
        ``loss`` in their names, so mmengine logs them without adding them
        to the total)."""
        if student.shape[:2] != teacher.shape[:2]:
            raise ValueError(
                f'student map {tuple(student.shape)} and teacher map '
                f'{tuple(teacher.shape)} differ in batch or channels; enable '
                f'aligners when widths differ')
        teacher = teacher.detach()  # a target: no gradient flows into it
        if self.with_cp and student.requires_grad:
            return checkpointed(self._terms, student, teacher,
                                with_cp=self.with_cp)
        return self._terms(student, teacher)

    def _terms(self, student: torch.Tensor,
               teacher: torch.Tensor) -> Dict[str, torch.Tensor]:
        student, teacher = match_resolution(student.float(), teacher.float())
        cos = F.cosine_similarity(
            student.flatten(1), teacher.flatten(1), dim=1, eps=1e-8)
        sl1 = F.smooth_l1_loss(student, teacher, beta=self.beta)
        w = self.loss_weight
        cos = w * self.cos_weight * (1 - cos).mean()
        sl1 = w * self.smooth_l1_weight * sl1
        return dict(loss=cos + sl1, cos=cos.detach(), sl1=sl1.detach())
