# Copyright (c) sak_mm contributors. All rights reserved.
"""Activation checkpointing through PyTorch's public API, in the forms a
module's ``with_cp`` argument names.

* ``False``: autograd keeps what each op saves for backward.
* ``'selective'``: selective activation checkpointing
  (:func:`torch.utils.checkpoint.create_selective_checkpoint_contexts`).
  The region keeps the outputs of its matrix products, convolutions,
  attention kernels and batch norms (:data:`KEPT_OPS`); everything else it
  would save (the norms' and activation functions' outputs, additions,
  autocast's low-precision copies of weights and activations) is computed
  again from them in the backward pass. No GEMM runs twice, and the values
  are those of ``False``: the same ops on the same inputs.
* ``True``: the whole region runs again in the backward pass
  (:func:`torch.utils.checkpoint.checkpoint`), keeping only its inputs.

Batch norm and in-place ops (e.g. its ``num_batches_tracked += 1``) are
kept, never run again: a second training-mode call would update the
running statistics twice. ``True`` does run them twice, so it is for
regions without batch norm (the ViT blocks).
"""
import functools
from typing import Callable, Sequence, Union

import torch
from torch.utils.checkpoint import (CheckpointPolicy, checkpoint,
                                    create_selective_checkpoint_contexts)

WITH_CP = (False, True, 'selective')

_aten = torch.ops.aten


def _overloads(*names: str) -> set:
    """The default overloads of the aten ops of ``names`` that exist in this
    build of PyTorch (attention kernels differ between builds)."""
    return {
        getattr(_aten, name).default
        for name in names if hasattr(_aten, name)
    }


#: ops whose outputs a ``'selective'`` region keeps
KEPT_OPS = _overloads(
    'mm', 'addmm', 'bmm', 'baddbmm', 'convolution',
    '_scaled_dot_product_flash_attention',
    '_scaled_dot_product_flash_attention_for_cpu',
    '_scaled_dot_product_efficient_attention',
    '_scaled_dot_product_cudnn_attention',
    '_scaled_dot_product_fused_attention_overrideable',
    'native_batch_norm', '_native_batch_norm_legit',
    '_batch_norm_with_update', 'cudnn_batch_norm', 'miopen_batch_norm')


def _keep_products(ctx, op, *args, **kwargs) -> CheckpointPolicy:
    if op in KEPT_OPS or torch.Tag.inplace in op.tags:
        return CheckpointPolicy.MUST_SAVE
    return CheckpointPolicy.PREFER_RECOMPUTE


_selective_contexts = functools.partial(
    create_selective_checkpoint_contexts, _keep_products,
    allow_cache_entry_mutation=True)


def check_with_cp(with_cp: Union[bool, str],
                  forms: Sequence[Union[bool, str]] = WITH_CP,
                  why: str = '') -> Union[bool, str]:
    """``with_cp`` if it is one of ``forms``; a ValueError naming them (and
    ``why`` others are not) otherwise."""
    if not any(with_cp is v or with_cp == v and isinstance(v, str)
               for v in forms):
        names = ', '.join(repr(v) for v in forms)
        raise ValueError(f'with_cp must be one of {names}, got '
                         f'{with_cp!r}{why}')
    return with_cp


def checkpointed(fn: Callable, *args, with_cp: Union[bool, str]):
    """``fn(*args)`` under the activation checkpointing ``with_cp`` names
    (see the module docstring); the result is the same either way."""
    if with_cp is False:
        return fn(*args)
    if with_cp == 'selective':
        return checkpoint(fn, *args, use_reentrant=False,
                          context_fn=_selective_contexts)
    return checkpoint(fn, *args, use_reentrant=False)
