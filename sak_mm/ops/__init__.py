# Copyright (c) sak_mm contributors. All rights reserved.
"""The speed layer: fused kernels of the SAK student (Triton), each with
the pure-PyTorch reference that defines it and that runs wherever Triton
cannot (CPU), and the module variants that use them.

* :func:`multi_adapter` -- one TSAP step for all teachers at once:
  ``R'_i = x_i + s_i (GELU(x_i W_d,i + b_d,i) W_u,i + b_u,i)``, ``x_i = R_i + Z``.
* :func:`mor_mix` -- every task's MoR mixture of the N+1 expert maps in one
  pass over the experts.
* :class:`FusedTSAPBackbone`, :class:`FusedMoRNeck` -- drop-in variants of
  the student's modules that run them, selected by ``fused_kernels=True``
  in a config (:func:`apply_speed_layer`; off by default until measured).

``multi_adapter`` / ``mor_mix`` pick the Triton kernel for CUDA tensors (or
on the CPU under ``TRITON_INTERPRET=1``) and the reference otherwise; the
``*_reference`` and ``*_triton`` functions force one implementation.
"""
from ._triton import HAS_TRITON, FusedKernelError, triton_usable
from .adapter import (multi_adapter, multi_adapter_reference,
                      multi_adapter_triton)
from .modules import (FUSED_VARIANTS, FusedMoRNeck, FusedTSAPBackbone,
                      apply_speed_layer)
from .mor_mix import mor_mix, mor_mix_reference, mor_mix_triton

__all__ = [
    'HAS_TRITON', 'FusedKernelError', 'triton_usable', 'multi_adapter',
    'multi_adapter_reference', 'multi_adapter_triton', 'mor_mix',
    'mor_mix_reference', 'mor_mix_triton', 'FUSED_VARIANTS',
    'FusedTSAPBackbone', 'FusedMoRNeck', 'apply_speed_layer'
]
