# Copyright (c) sak_mm contributors. All rights reserved.
"""Feature aggregator (FGMoE Sec. 3.2) and deformable mixer (Sec. 3.3)."""
from functools import partial
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .deformable import ChannelwiseDeformConv, DeformableConv2d


class FeatureAggregator(nn.Module):
    """Levels bilinearly resized to the first level's size (times
    ``scale``), concatenated (``C''`` channels), ``Linear(C'' -> C)`` and
    LayerNorm.

    Args:
        in_channels (Sequence[int]): Channels of the backbone levels.
        channels (int): ``C``.
        scale (float): Output size relative to the first level (1: H/4 for
            Swin and HRNet; a ViT's levels are all H/16).
    """

    def __init__(self, in_channels: Sequence[int], channels: int,
                 scale: float = 1.0):
        super().__init__()
        self.in_channels = list(in_channels)
        self.scale = scale
        self.proj = nn.Linear(sum(self.in_channels), channels)
        self.norm = nn.LayerNorm(channels)

    def forward(self, levels: List[torch.Tensor]) -> torch.Tensor:
        if [x.shape[1] for x in levels] != self.in_channels:
            raise ValueError(
                f'the aggregator expects levels of {self.in_channels} '
                f'channels, got {[x.shape[1] for x in levels]}')
        h, w = levels[0].shape[-2:]
        size = (round(h * self.scale), round(w * self.scale))
        x = torch.cat([
            x if tuple(x.shape[-2:]) == size else F.interpolate(
                x, size=size, mode='bilinear', align_corners=False)
            for x in levels
        ], dim=1)
        x = self.norm(self.proj(x.permute(0, 2, 3, 1)))
        return x.permute(0, 3, 1, 2)


class DeformableMixer(nn.Module):
    """One task's deformable mixer, eq. (1)-(6):

    .. code:: text

        X    = BN(GELU(Conv1x1(X)))                  (1)-(2)
        X_C' = X + BN(GELU(D_C(X)))                  (3)-(4)
        X_d' = LN(Flatten(X_C'))                     (5)
        X_a  = MHSA(X_d', X_d', X_d')                (6)

    Attention runs over all ``N = h * w`` tokens of an image with fused
    scaled-dot-product attention (the ``N x N`` matrix is never stored).

    Args:
        channels (int): ``C``.
        deform (str): ``D_C``: ``'channelwise'``, eq. (3) (a 1 x 1 weight
            over channels each read at its own offset,
            :class:`ChannelwiseDeformConv`, as DeMT), or ``'3x3'``, a 3 x 3
            deformable convolution with one offset group
            (:class:`DeformableConv2d`).
        num_heads (int): Attention heads (4, as DeMT).
        attn_residual (bool): Add ``X_C'`` to the attention output (a
            pre-norm transformer layer's residual; not in eq. (6)).
    """

    DEFORMS = {
        'channelwise': ChannelwiseDeformConv,
        '3x3': partial(DeformableConv2d, kernel_size=3),
    }

    def __init__(self, channels: int, deform: str = 'channelwise',
                 num_heads: int = 4, attn_residual: bool = False):
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'channels {channels} must be divisible by '
                             f'num_heads {num_heads}')
        if deform not in self.DEFORMS:
            raise ValueError(f'deform must be one of {list(self.DEFORMS)}, '
                             f'got {deform!r}')
        self.num_heads = num_heads
        self.attn_residual = attn_residual
        self.channel_conv = nn.Sequential(
            nn.Conv2d(channels, channels, 1), nn.GELU(),
            nn.BatchNorm2d(channels))
        self.deform_conv = self.DEFORMS[deform](channels)
        self.deform_post = nn.Sequential(nn.GELU(), nn.BatchNorm2d(channels))
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-head self-attention over ``(B, N, C)`` tokens."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads,
                                      c // self.num_heads).permute(
                                          2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, h, w)`` -> tokens ``X_a`` ``(B, h * w, C)``."""
        x = self.channel_conv(x)
        x = x + self.deform_post(self.deform_conv(x))
        tokens = x.flatten(2).transpose(1, 2)
        out = self.attention(self.norm(tokens))
        return tokens + out if self.attn_residual else out
