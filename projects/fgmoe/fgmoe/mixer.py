# Copyright (c) sak_mm contributors. All rights reserved.
"""Feature aggregator (FGMoE Sec. 3.2) and deformable mixer (Sec. 3.3)."""
import math
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import deform_conv2d


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


class DeformableConv2d(nn.Module):
    """``k x k`` deformable convolution whose offsets a ``k x k`` conv
    learns from the input (eq. (3)); the offset conv starts at zero, so the
    layer starts as a plain convolution. Runs on ``torchvision.ops`` (no
    compiled mmcv); offsets are laid out ``[y0, x0, y1, x1, ...]``.
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(
            torch.empty(channels, channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(channels))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(channels * kernel_size * kernel_size)
        nn.init.uniform_(self.bias, -bound, bound)
        self.offset = nn.Conv2d(channels, 2 * kernel_size * kernel_size,
                                kernel_size, padding=self.padding)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return deform_conv2d(x, self.offset(x), self.weight, self.bias,
                             padding=self.padding)


class DeformableMixer(nn.Module):
    """One task's deformable mixer, eq. (1)-(6):

    .. code:: text

        X    = BN(GELU(Conv1x1(X)))                  (1)-(2)
        X_C' = X + BN(GELU(DC(X)))                   (3)-(4)
        X_d' = LN(Flatten(X_C'))                     (5)
        X_a  = X_C' + MHSA(X_d', X_d', X_d')         (6), a pre-norm
                                                     transformer layer

    Attention runs over all ``N = h * w`` tokens of an image with fused
    scaled-dot-product attention (the ``N x N`` matrix is never stored).

    Args:
        channels (int): ``C``.
        kernel_size (int): Of the deformable convolution (3).
        num_heads (int): Attention heads (4, as DeMT).
        attn_residual (bool): Keep ``X_C'`` beside the attention output (the
            transformer layer's residual); False gives eq. (6) literally.
    """

    def __init__(self, channels: int, kernel_size: int = 3,
                 num_heads: int = 4, attn_residual: bool = True):
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'channels {channels} must be divisible by '
                             f'num_heads {num_heads}')
        self.num_heads = num_heads
        self.attn_residual = attn_residual
        self.channel_conv = nn.Sequential(
            nn.Conv2d(channels, channels, 1), nn.GELU(),
            nn.BatchNorm2d(channels))
        self.deform_conv = DeformableConv2d(channels, kernel_size)
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
