# Copyright (c) sak_mm contributors. All rights reserved.
"""FLOP counting that sees attention on the CPU and the fused operators."""
import math

import torch
from torch.utils.flop_counter import (FlopCounterMode,
                                      sdpa_backward_flop_count,
                                      sdpa_flop_count)


def _cpu_sdpa(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _cpu_sdpa_backward(grad_out, query, key, value, *args, out_shape=None,
                       **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


def _native_mha(query, key, value, embed_dim, *args, out_shape=None,
                **kwargs) -> int:
    """``nn.MultiheadAttention``'s inference fast path (one op: input
    projections, attention, output projection), batch first."""
    b, n_q, e = query
    n_k = key[1]
    projections = 2 * b * (n_q * e * e + 2 * n_k * e * e + n_q * e * e)
    return projections + 4 * b * n_q * n_k * e


def _multi_adapter(z, residual, wd, *args, out_shape=None, **kwargs) -> int:
    """``sak_mm::multi_adapter``: each teacher's down- and up-projection,
    the FLOPs of the eager adapters' two linears (its backward pass is
    batched matmuls, which torch counts itself)."""
    n_teachers, r, d = wd
    return 4 * n_teachers * (math.prod(z) // d) * d * r


def _deform_conv2d(x, weight, offset, *args, out_shape=None,
                   **kwargs) -> int:
    """``torchvision::deform_conv2d``: the convolution's multiply-adds at
    the output size (the bilinear sampling of the offsets is not counted,
    as torch counts no interpolation)."""
    c_out, c_in_per_group, kh, kw = weight
    b, _, h, w = offset
    return 2 * b * c_out * c_in_per_group * kh * kw * h * w


def attention_ops() -> frozenset:
    """The scaled-dot-product attention operators of this torch build; their
    counts are the ``Q K^T`` and ``A V`` products, quadratic in the tokens.
    (``nn.MultiheadAttention``'s one-op path counts its projections with
    them and is not among these.)"""
    aten = torch.ops.aten
    names = ('_scaled_dot_product_flash_attention_for_cpu',
             '_scaled_dot_product_flash_attention',
             '_scaled_dot_product_efficient_attention',
             '_scaled_dot_product_cudnn_attention')
    return frozenset(getattr(aten, n) for n in names if hasattr(aten, n))


def flop_counter(**kwargs) -> FlopCounterMode:
    """``torch.utils.flop_counter.FlopCounterMode(**kwargs)`` that also
    counts what torch has no formula for: attention on the CPU and the
    fused adapter operator.

    torch's table covers the CUDA attention kernels only, so on the CPU
    every ``scaled_dot_product_attention`` (about 100 GFLOP of a ViT-L at
    448x576, more in SAM's global blocks) counted as zero, and so did
    ``nn.MultiheadAttention``'s inference fast path on any device (open_clip's
    blocks without autocast: 0.43 of CLIP-L's 0.96 TFLOP at 448x576). The
    fused adapter operator counts as the eager adapters do (the MoR mixing
    is elementwise, which torch counts in neither form); torchvision's
    deformable convolution as the convolution it computes. The formulas
    here take the arguments as shapes.
    """
    from sak_mm import ops
    aten = torch.ops.aten
    mapping = {
        aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa,
        aten._scaled_dot_product_flash_attention_for_cpu_backward:
        _cpu_sdpa_backward,
        aten._native_multi_head_attention: _native_mha,
        torch.ops.torchvision.deform_conv2d: _deform_conv2d,
    }
    if ops.HAS_TRITON:  # the operator exists only with triton
        mapping[torch.ops.sak_mm.multi_adapter] = _multi_adapter
    return FlopCounterMode(custom_mapping=mapping, **kwargs)
