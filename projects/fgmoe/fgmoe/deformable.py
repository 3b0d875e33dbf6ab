# Copyright (c) sak_mm contributors. All rights reserved.
"""The deformable step of the mixer (FGMoE eq. (3)) and its k x k variant."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import deform_conv2d


def sample_per_channel(x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Each channel of ``x`` read at its own displaced position, bilinearly:
    ``out[b, c, i, j] = x[b, c]((i, j) + offset[b, c, :, i, j])``.

    The sampling of :func:`torchvision.ops.deform_conv2d` with a 1 x 1
    kernel and one offset group per channel, gradients included: corners
    outside the map read zero, positions at or beyond one pixel outside
    read nothing, and at an integer position the offset gradient is the
    forward difference (``floor`` then the fraction ``p - floor(p)``, as
    torchvision; ``grid_sample`` rounds the normalised coordinates and
    differs there, which is exactly where the zero-initialised offsets
    start). Plain tensor operations (one ``gather`` of the four corners
    from the map padded by a zero pixel), so autograd gives the gradients,
    on any device and in any floating dtype (positions and weights in at
    least fp32).

    Args:
        x (Tensor): ``(B, C, H, W)``.
        offset (Tensor): ``(B, 2C, H, W)`` laid out ``[dy_0, dx_0, dy_1,
            dx_1, ...]`` (torchvision's and mmcv's order).

    Returns:
        Tensor: ``(B, C, H, W)``.
    """
    b, c, h, w = x.shape
    if offset.shape != (b, 2 * c, h, w):
        raise ValueError(f'offsets of shape {(b, 2 * c, h, w)} expected for '
                         f'x {tuple(x.shape)}, got {tuple(offset.shape)}')
    # positions in at least fp32: bf16 spaces integers 2 apart above 256
    dtype = torch.promote_types(offset.dtype, torch.float32)
    dy, dx = offset.to(dtype).view(b, c, 2, h, w).unbind(2)
    ys = dy + torch.arange(h, dtype=dtype, device=x.device)[:, None]
    xs = dx + torch.arange(w, dtype=dtype, device=x.device)
    y0, x0 = ys.floor(), xs.floor()
    fy, fx = ys - y0, xs - x0  # the fractions carry the offset gradient
    # top-left corners in the map padded by one zero pixel: all four
    # corners are inside it unless the position is a pixel or more outside
    y0, x0 = y0.long() + 1, x0.long() + 1
    near = (y0 >= 0) & (y0 <= h) & (x0 >= 0) & (x0 <= w)
    wp = w + 2
    corner = (y0.clamp(0, h) * wp + x0.clamp(0, w)).view(b, c, h * w)
    padded = F.pad(x, (1, 1, 1, 1)).view(b, c, (h + 2) * wp)
    v = padded.gather(2, torch.cat(
        [corner, corner + 1, corner + wp, corner + wp + 1], 2))
    v00, v01, v10, v11 = v.view(b, c, 4, h, w).unbind(2)
    top = (1 - fx) * v00 + fx * v01
    bottom = (1 - fx) * v10 + fx * v11
    return (((1 - fy) * top + fy * bottom) * near).to(x.dtype)


class ChannelwiseDeformConv(nn.Module):
    """Eq. (3): every input channel read at its own learned offset, then
    mixed across channels by a 1 x 1 weight ``W_d``:

    .. code:: text

        Delta   = OffsetNet(X)                        (B, 2C, h, w)
        D_C(X)  = W_d . X((i, j) + Delta_(i,j)) + b   sum over C' inputs

    DeMT's operator (a 1 x 1 weight, one offset pair per input channel).
    The offsets come from two 3 x 3 convolutions through 18 channels, as
    DeMT's offset network (which also feeds the sampling grid's absolute
    coordinates into its second convolution; here the offsets are a
    function of ``X`` alone, as the paper states). The second convolution
    starts at zero, so the operator starts as a 1 x 1 convolution.

    Args:
        channels (int): ``C``.
        offset_channels (int): Width between the two offset convolutions
            (DeMT: ``2 * 3 * 3``).
    """

    def __init__(self, channels: int, offset_channels: int = 18):
        super().__init__()
        self.offset = nn.Sequential(
            nn.Conv2d(channels, offset_channels, 3, padding=1),
            nn.Conv2d(offset_channels, 2 * channels, 3, padding=1,
                      groups=2))
        nn.init.zeros_(self.offset[1].weight)
        nn.init.zeros_(self.offset[1].bias)
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(sample_per_channel(x, self.offset(x)))


class DeformableConv2d(nn.Module):
    """``k x k`` deformable convolution whose offsets a ``k x k`` conv
    learns from the input (one offset group); the offset conv starts at
    zero, so the layer starts as a plain convolution. An alternative to
    eq. (3)'s channel-wise operator, on ``torchvision.ops.deform_conv2d``.
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
