# Copyright (c) sak_mm contributors. All rights reserved.
"""A dense task loss of low-resolution logits, at the labels' resolution."""
from typing import Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.registry import MODELS


@MODELS.register_module()
class UpsampledLoss(nn.Module):
    """``loss(upsample(logits), gt, valid)``: the logits are resized
    bilinearly to the labels' size before the task loss compares them (the
    heads decode at 1/4 of the input, the labels are at full size).

    Args:
        loss (dict | nn.Module): The task loss, e.g.
            ``dict(type='PixelCrossEntropyLoss')``; it names the loss entry
            (``loss_name``).
        align_corners (bool): Of the bilinear resize.
    """

    def __init__(self, loss: Union[dict, nn.Module],
                 align_corners: bool = False):
        super().__init__()
        self.loss = MODELS.build(loss) if isinstance(loss, dict) else loss
        self.align_corners = align_corners

    @property
    def loss_name(self) -> str:
        return self.loss.loss_name

    def forward(self, logits: torch.Tensor, gt: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        """``(B, C, h, w)`` logits, ``(B, C', H, W)`` labels and ``(B, 1, H,
        W)`` validity -> the scalar loss."""
        upsampled = F.interpolate(
            logits, size=gt.shape[-2:], mode='bilinear',
            align_corners=self.align_corners)
        return self.loss(upsampled, gt, valid)
