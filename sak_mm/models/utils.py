# Copyright (c) sak_mm contributors. All rights reserved.
"""Small helpers shared by the model components."""
import contextlib
from typing import Callable, Iterator, List, Sequence

import torch


def evenly_spaced_levels(num_layers: int, num_levels: int = 4) -> List[int]:
    """Block indices ``{L/4, L/2, 3L/4, L}`` (0-based) of a ``num_layers``
    deep ViT, e.g. ``[5, 11, 17, 23]`` for 24 blocks (paper Sec. 3.2)."""
    if num_layers < num_levels:
        raise ValueError(f'cannot take {num_levels} levels from '
                         f'{num_layers} blocks')
    return [num_layers * (k + 1) // num_levels - 1 for k in range(num_levels)]


def _identity(tensor: torch.Tensor) -> tuple:
    """What makes a saved tensor *this* tensor: storage, offset, geometry."""
    return (tensor.untyped_storage().data_ptr(), tensor.storage_offset(),
            tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)


def _enclosing_saved_tensors_hooks():
    """The ``(pack, unpack)`` pair active outside a block, or None.

    Private PyTorch API, the one ``torch.utils.checkpoint`` uses to let
    user hooks see what it saves; without it, hooks pushed around a
    :func:`recomputed_for_backward` block do not see what is saved inside.
    """
    top = getattr(torch._C._autograd, '_top_saved_tensors_default_hooks',
                  None)
    return None if top is None else top(False)


class _Recompute:
    """Stands in the autograd graph for a tensor rebuilt on use: the
    recipe's inputs (as the enclosing hooks packed them) and the expected
    shape and dtype."""

    def __init__(self, inputs: tuple, shape: torch.Size, dtype: torch.dtype):
        self.inputs, self.shape, self.dtype = inputs, shape, dtype


@contextlib.contextmanager
def recomputed_for_backward(tensor: torch.Tensor,
                            recompute: Callable[..., torch.Tensor],
                            *inputs: torch.Tensor) -> Iterator[None]:
    """Ops inside this block that save ``tensor`` for their backward keep
    ``inputs`` instead and call ``recompute(*inputs)`` when the backward
    pass reads the tensor.

    This trades a cheap recomputation (an interpolation, an activation
    function) for the memory of a large activation, like activation
    checkpointing but for a single tensor rebuilt from smaller (or already
    saved) inputs. ``recompute`` runs under the autocast state of this
    block and must rebuild exactly the same values (deterministic ops on
    the same inputs); a shape or dtype mismatch raises. Saved-tensor hooks
    active around the block see everything saved in it, the inputs in
    place of ``tensor``. Without autograd, and under ``torch.compile``
    (whose partitioner chooses what to recompute), the block is a no-op.
    """
    if not torch.is_grad_enabled() or torch.compiler.is_compiling():
        yield
        return
    target = _identity(tensor)
    device = tensor.device.type
    autocast = dict(device_type=device,
                    enabled=torch.is_autocast_enabled(device),
                    dtype=torch.get_autocast_dtype(device))
    outer_pack, outer_unpack = (_enclosing_saved_tensors_hooks()
                                or (lambda t: t, lambda t: t))

    def pack(saved: torch.Tensor):
        if _identity(saved) != target:
            return outer_pack(saved)
        return _Recompute(tuple(outer_pack(t) for t in inputs), saved.shape,
                          saved.dtype)

    def unpack(packed):
        if not isinstance(packed, _Recompute):
            return outer_unpack(packed)
        with torch.autocast(**autocast):
            rebuilt = recompute(*(outer_unpack(t) for t in packed.inputs))
        if rebuilt.shape != packed.shape or rebuilt.dtype != packed.dtype:
            raise RuntimeError(
                f'recomputed tensor is {rebuilt.dtype} '
                f'{tuple(rebuilt.shape)}, the saved one was {packed.dtype} '
                f'{tuple(packed.shape)}')
        return rebuilt

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        yield


def _keep(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


class _LossesWithEarlyGrad(torch.autograd.Function):
    """See :func:`losses_with_early_grad`."""

    @staticmethod
    def forward(ctx, terms: Callable, x: torch.Tensor):
        # the inner graph lives only in here: enclosing saved-tensor hooks
        # (memory accounting, offloading) see just the kept gradients
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(
                _keep, _keep):
            leaf = x.detach().requires_grad_()
            losses = tuple(terms(leaf))
            last = len(losses) - 1
            grads = [
                torch.autograd.grad(loss, leaf, retain_graph=i < last)[0]
                for i, loss in enumerate(losses)
            ]
        ctx.save_for_backward(*grads)
        return tuple(loss.detach() for loss in losses)

    @staticmethod
    def backward(ctx, *grad_losses):
        grads = ctx.saved_tensors
        return None, sum(g * go for g, go in zip(grads, grad_losses))


def losses_with_early_grad(
        terms: Callable[[torch.Tensor], Sequence[torch.Tensor]],
        x: torch.Tensor) -> tuple:
    """``tuple(terms(x))``, scalar losses of ``x``, with their gradients
    with respect to ``x`` formed right away.

    Autograd would keep what the losses' backward needs until the backward
    pass: for a loss on a resized map, full-size fp32 copies (a
    distillation target at the teacher's resolution, logits at the input
    resolution). Here each term's gradient, of ``x``'s size and dtype, is
    computed in the forward pass and kept instead; backward weights them
    by the incoming gradients. The values are those of the plain terms.
    ``terms`` must not use any other tensor that needs a gradient (it
    would get none). Without autograd, or when ``x`` needs no gradient,
    the terms are simply evaluated.
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return _LossesWithEarlyGrad.apply(terms, x)
    return tuple(terms(x))
