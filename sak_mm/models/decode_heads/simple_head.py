# Copyright (c) sak_mm contributors. All rights reserved.
"""The paper's simple MLP + conv head."""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.models.utils import RecomputeScope, autocast_input
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
        self.upsample_ratio = upsample_ratio
        reduced = in_channels // num_levels
        self.linears = nn.ModuleList(
            nn.Linear(in_channels, reduced) for _ in range(num_levels))
        self.fuse = nn.Sequential(
            nn.Conv2d(reduced * num_levels, in_channels, kernel_size,
                      padding=kernel_size // 2),
            nn.BatchNorm2d(in_channels), nn.GELU())
        self.cls = nn.Conv2d(in_channels, self.out_channels, 1)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        if len(feats) != len(self.linears):
            raise ValueError(f'{self.task} head expects {len(self.linears)} '
                             f'levels, got {len(feats)}')
        h, w = feats[0].shape[-2:]
        size = (h * self.upsample_ratio, w * self.upsample_ratio)
        # contiguous NCHW: a channels-last view here would make the fuse
        # conv's weight gradient channels-last (DDP stride mismatch)
        # (the bf16 copies of the inputs are cast again in backward where
        # the inputs are rebuilt or kept anyway, as the MoR neck's are)
        reduced = [
            lin(autocast_input(f.permute(0, 2, 3, 1), rebuild=True)).permute(
                0, 3, 1, 2).contiguous()
            for lin, f in zip(self.linears, feats)
        ]
        conv, norm, act = self.fuse
        # The two full-resolution maps that only feed a convolution are not
        # kept for backward but rebuilt from what is kept anyway (the
        # upsampled concat from the 1/16-size reduced levels, the
        # activation from its input): half the head's activation memory
        # for an interpolation and a GELU, with the same values.
        with RecomputeScope() as scope:
            x = self._upsample_concat(reduced, size)
            scope.register(x, lambda *r: self._upsample_concat(r, size),
                           *reduced)
            y = conv(x)
            del x
            z = norm(y)
            g = act(z)
            scope.register(g, act.forward, z)
            return self.cls(g)

    @staticmethod
    def _upsample_concat(reduced: List[torch.Tensor], size) -> torch.Tensor:
        return torch.cat([
            F.interpolate(r, size=size, mode='bilinear', align_corners=False)
            for r in reduced
        ], dim=1)
