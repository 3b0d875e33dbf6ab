# Copyright (c) sak_mm contributors. All rights reserved.
"""What memory saving does to each module type.

:func:`apply_memory_saving` runs a built model's forward in a
:class:`~sak_mm.memory.recompute.RecomputeScope` (autocast's weight copies
are then cast again in backward instead of being kept) and gives each
submodule the policy registered for its class in
:data:`~sak_mm.registry.MEMORY_POLICIES`. Every policy changes what is kept
for backward, never a value: losses and gradients are bit-identical with
and without it. A project registers policies for its own modules::

    @MEMORY_POLICIES.register_module('MyHead')
    def my_head(head): ...

===================  ==========================================================
module               rebuilt in backward instead of kept (ViT-L, per image)
===================  ==========================================================
``TSAPBackbone``     each stem block's GELU and LayerNorm outputs and its
                     residual stream after attention (one scope per block,
                     not while blocks are checkpointed whole)
``MoRNeck``          the routers of a level share one autocast copy of its
                     TAS tokens instead of keeping one each
``SimpleHead``       the bf16 copies of its inputs, its upsampled concat and
                     its fuse GELU's output
``DistillLoss``,     their losses' gradients are formed in the forward pass
``UpsampledLoss``    (one input-sized map kept, not full-size intermediates)
===================  ==========================================================

The fused kernels of :mod:`sak_mm.ops` register what they can rebuild
themselves (stacked adapter weights, MoR mixtures).
"""
import weakref
from typing import Callable, Optional

import torch
import torch.nn as nn

from sak_mm.registry import MEMORY_POLICIES
from .early_grad import early_loss_gradient
from .recompute import (autocast_input, recompute_later,
                        recompute_outputs_of, scope_around)

# what was applied (each once, however often apply_memory_saving is called)
_SCOPED = weakref.WeakSet()
_WITH_POLICY = weakref.WeakSet()


def apply_memory_saving(model: nn.Module) -> nn.Module:
    """Run ``model``'s calls in a scope and apply the registered policies to
    it and its submodules; returns ``model``."""
    if model not in _SCOPED:
        scope_around(model)
        _SCOPED.add(model)
    for module in model.modules():
        policy = policy_of(module)
        if policy is not None and module not in _WITH_POLICY:
            policy(module)
            _WITH_POLICY.add(module)
    return model


def policy_of(module: nn.Module) -> Optional[Callable[[nn.Module], None]]:
    """The policy registered for ``module``'s class or its nearest base."""
    for cls in type(module).__mro__:
        policy = MEMORY_POLICIES.module_dict.get(cls.__name__)
        if policy is not None:
            return policy
    return None


def _rebuild_mid_residual(layer: nn.Module) -> None:
    """For an mmpretrain ``TransformerEncoderLayer`` (``x = z + attn(ln1(z))``,
    then ``ffn(ln2(x), identity=x)``): ``x``, which ``ln2`` keeps for
    backward (fp32, the residual stream), is rebuilt as ``z + a`` from the
    block input ``z`` (kept by ``ln1`` anyway) and the attention output
    ``a`` (bf16 under autocast: half the bytes)."""
    parts = {}

    def keep_input(module, args):
        parts['z'] = args[0]

    def keep_output(module, args, output):
        parts['a'] = output

    def register(module, args):
        z, a = parts.pop('z', None), parts.pop('a', None)
        if z is not None and a is not None:
            recompute_later(args[0], torch.add, z, a)

    layer.register_forward_pre_hook(keep_input)
    layer.attn.register_forward_hook(keep_output)
    layer.ln2.register_forward_pre_hook(register)


@MEMORY_POLICIES.register_module('TSAPBackbone')
def rebuild_stem_activations(backbone: nn.Module) -> None:
    """Each stem block runs in its own scope (only its saved tensors pass
    through the scope's hook), unless it is checkpointed whole
    (``with_cp``); in it, the block's GELU output (its MLP hidden
    activation, the largest tensor it keeps) is rebuilt from the GELU's
    input, its LayerNorms' outputs (their bf16 casts under autocast) from
    the residual stream, and the residual stream after attention from the
    block input and the attention output."""
    from mmpretrain.models.backbones.vision_transformer import \
        TransformerEncoderLayer

    def not_checkpointed(args) -> bool:
        return not (backbone.with_cp and backbone.training
                    and args[0].requires_grad)

    for layer in backbone.stem.layers:
        scope_around(layer, when=not_checkpointed)
        for module in layer.modules():
            if isinstance(module, (nn.GELU, nn.LayerNorm)):
                recompute_outputs_of(module)
        if type(layer) is TransformerEncoderLayer:
            _rebuild_mid_residual(layer)


def _autocast_copy(module: nn.Module, args: tuple, output: torch.Tensor):
    return autocast_input(output.contiguous())


@MEMORY_POLICIES.register_module('MoRNeck')
def share_router_input_copies(neck: nn.Module) -> None:
    """The routers of a level get one autocast copy of the level's TAS
    tokens (each router's first linear would make and keep its own)."""
    neck.router_tokens.register_forward_hook(_autocast_copy)


def _rebuilt_input_cast(module: nn.Module, args: tuple) -> tuple:
    return (autocast_input(args[0], rebuild=True), *args[1:])


@MEMORY_POLICIES.register_module('SimpleHead')
def rebuild_head_activations(head: nn.Module) -> None:
    """The head's bf16 copies of its inputs are cast again in backward (its
    inputs are kept or rebuilt anyway), and its two full-resolution maps
    that only feed a convolution, the upsampled concat and the fuse GELU's
    output, are rebuilt from the 1/16-size reduced levels and the GELU's
    input: half the head's activation memory, for an interpolation and a
    GELU."""
    for linear in head.linears:
        linear.register_forward_pre_hook(_rebuilt_input_cast)
    recompute_outputs_of(head.upsample_concat)
    recompute_outputs_of(head.fuse[-1])


MEMORY_POLICIES.register_module('DistillLoss', module=early_loss_gradient)
MEMORY_POLICIES.register_module('UpsampledLoss', module=early_loss_gradient)
