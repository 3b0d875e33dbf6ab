# Copyright (c) sak_mm contributors. All rights reserved.
"""Dense task losses with the SAK reference's reductions.

Every loss takes ``(pred, gt, valid)`` with ``pred`` and ``gt`` as
``(B, C, H, W)`` and ``valid`` as ``(B, 1, H, W)`` bool (from the dense-field
table), and returns ``loss_weight * loss``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.registry import MODELS
from sak_mm.structures import IGNORE_INDEX


@MODELS.register_module()
class PixelCrossEntropyLoss(nn.Module):
    """Cross-entropy summed over valid pixels and divided by their count.

    Args:
        loss_weight (float): Task weight ``w_t`` of eq. (6).
        class_balanced (bool): Weight the two classes of a binary task by the
            batch's label frequencies (saliency on PASCAL-Context).
    """

    loss_name = 'loss_ce'

    def __init__(self, loss_weight: float = 1.0, class_balanced: bool = False):
        super().__init__()
        self.loss_weight = loss_weight
        self.class_balanced = class_balanced

    def forward(self, pred: torch.Tensor, gt: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        label = gt[:, 0].long()
        weight = None
        if self.class_balanced:
            pos = (label[valid[:, 0]] == 1).float().mean()
            weight = torch.stack([pos, 1 - pos])
        loss = F.cross_entropy(
            pred.float(), label, weight=weight, ignore_index=IGNORE_INDEX,
            reduction='sum')
        return self.loss_weight * loss / valid.sum().clamp(min=1)


@MODELS.register_module()
class MaskedL1Loss(nn.Module):
    """L1 summed over valid pixels (all channels) / number of valid pixels.

    Args:
        loss_weight (float): Task weight ``w_t``.
        normalize (bool): L2-normalise the prediction over channels first
            (surface normals).
    """

    loss_name = 'loss_l1'

    def __init__(self, loss_weight: float = 1.0, normalize: bool = False):
        super().__init__()
        self.loss_weight = loss_weight
        self.normalize = normalize

    def forward(self, pred: torch.Tensor, gt: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        pred = pred.float()
        if self.normalize:
            pred = F.normalize(pred, p=2, dim=1)
        # where, not a product: a masked-out NaN must not poison the sum
        diff = torch.where(valid, (pred - gt).abs(), 0.0)
        return self.loss_weight * diff.sum() / valid.sum().clamp(min=1)


@MODELS.register_module()
class BalancedBCELoss(nn.Module):
    """Binary cross-entropy with positives weighted ``w`` and negatives
    ``1 - w``, averaged over valid pixels (boundary detection; saliency in
    the MTLoRA protocol).

    Computed as the reference does: ``BCE(pos_weight=w / (1 - w)) * (1 - w)``.

    Args:
        loss_weight (float): Task weight ``w_t``.
        pos_weight (float, optional): ``w`` (0.95 for boundaries in SAK).
            None weighs each batch by its labels, HED-style: ``w`` is the
            fraction of negative valid pixels (MTLoRA's saliency loss).
    """

    loss_name = 'loss_bce'

    def __init__(self, loss_weight: float = 1.0,
                 pos_weight: Optional[float] = 0.95):
        super().__init__()
        if pos_weight is not None and not 0 < pos_weight < 1:
            raise ValueError(f'pos_weight must be in (0, 1), got {pos_weight}')
        self.loss_weight = loss_weight
        self.pos_weight = pos_weight

    def forward(self, pred: torch.Tensor, gt: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        mask = valid.expand_as(gt)
        target = gt[mask].float()
        w = self.pos_weight
        if w is None:  # the negatives' share, kept inside (0, 1)
            w = (1 - target.mean()).clamp(1e-4, 1 - 1e-4)
        w = torch.as_tensor(w, dtype=torch.float32, device=pred.device)
        loss = F.binary_cross_entropy_with_logits(
            pred.float()[mask], target, pos_weight=w / (1 - w))
        return self.loss_weight * loss * (1 - w)
