# Copyright (c) sak_mm contributors. All rights reserved.
"""The paper's simple MLP + conv head."""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.registry import MODELS
from .base_task_head import BaseTaskHead


@MODELS.register_module()
class SimpleHead(BaseTaskHead):
    """Per level ``Linear(C, C/4)``, bilinear to the finest requested size,
    concat, ``Conv(k x k, C, C) + BN + GELU``, ``Conv1x1 -> out_channels``.

    .. code:: text

        level i (B, C, h, w) --Linear C->C/4--> resize to (H/4, W/4) --+
                                                     concat (B, C, H/4, W/4)
        --> conv3x3 + BN + GELU --> conv1x1 --> logits (B, out, H/4, W/4)

    Args:
        in_channels (int): Feature width ``C`` (divisible by ``num_levels``).
        num_levels (int): Number of input levels (4).
        kernel_size (int): Fuse-conv kernel (3).
        upsample_ratio (int): Logit resolution relative to the feature maps;
            4 with patch-16 features gives 1/4 of the input.
        **kwargs: ``task``, ``out_channels``, ``loss`` of
            :class:`BaseTaskHead`.
    """

    def __init__(self,
                 in_channels: int,
                 num_levels: int = 4,
                 kernel_size: int = 3,
                 upsample_ratio: int = 4,
                 **kwargs):
        super().__init__(**kwargs)
        if in_channels % num_levels:
            raise ValueError(f'in_channels {in_channels} must be divisible by '
                             f'num_levels {num_levels}')
        self.in_channels = in_channels
        reduced = in_channels // num_levels
        self.linears = nn.ModuleList(
            nn.Linear(in_channels, reduced) for _ in range(num_levels))
        self.upsample_ratio = upsample_ratio
        self.fuse = nn.Sequential(
            nn.Conv2d(reduced * num_levels, in_channels, kernel_size,
                      padding=kernel_size // 2),
            nn.BatchNorm2d(in_channels), nn.GELU())
        self.cls = nn.Conv2d(in_channels, self.out_channels, 1)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        if len(feats) != len(self.linears):
            raise ValueError(f'{self.task} head expects {len(self.linears)} '
                             f'levels, got {len(feats)}')
        # contiguous NCHW: a channels-last view here would make the fuse
        # conv's weight gradient channels-last (DDP stride mismatch)
        reduced = [
            lin(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
            for lin, f in zip(self.linears, feats)
        ]
        h, w = reduced[0].shape[-2:]
        size = (h * self.upsample_ratio, w * self.upsample_ratio)
        upsampled = [
            F.interpolate(x, size=size, mode='bilinear', align_corners=False)
            for x in reduced
        ]
        return self.cls(self.fuse(torch.cat(upsampled, dim=1)))
