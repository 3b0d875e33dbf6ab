# Copyright (c) sak_mm contributors. All rights reserved.
"""Loss gradients formed in the forward pass.

Autograd keeps what a loss's backward needs until the backward pass: for a
loss on a resized map, full-size fp32 copies (a distillation target at the
teacher's resolution, logits upsampled to the input). A loss module given
:func:`early_loss_gradient` instead forms the gradient of each of its
losses with respect to its first input during the forward pass and keeps
only that (the input's size and dtype); backward weights it by the
incoming gradient. The values are those of the plain loss.
"""
from typing import List, Optional

import torch
import torch.nn as nn

from .recompute import _keep


def _check_only_leaf(loss: torch.Tensor, leaf: torch.Tensor) -> None:
    """Raise if ``loss`` needs the gradient of any tensor but ``leaf``."""
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, 'variable', None)  # AccumulateGrad
        if variable is not None and variable is not leaf:
            raise RuntimeError(
                f'early_loss_gradient: a loss also depends on a '
                f'{tuple(variable.shape)} tensor that needs a gradient; '
                f'only the module\'s first input gets one (detach the '
                f'others)')
        stack.extend(next_node for next_node, _ in node.next_functions)


class _WithGradient(torch.autograd.Function):
    """``value``, whose gradient with respect to ``x`` is ``grad``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, grad: torch.Tensor,
                value: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(grad)
        return value.clone()

    @staticmethod
    def backward(ctx, grad_value):
        grad, = ctx.saved_tensors
        return grad * grad_value, None, None


class _Call:
    """One forward call's input, its detached stand-in and the saved-tensor
    hooks that keep the loss's own graph away from enclosing hooks."""

    def __init__(self, x: torch.Tensor):
        self.x = x
        self.leaf = x.detach().requires_grad_()
        self.hidden = torch.autograd.graph.saved_tensors_hooks(_keep, _keep)
        self.hidden.__enter__()


def _with_gradients(call: _Call, output):
    """``output`` (a loss tensor or a dict with some) with every loss that
    needs a gradient replaced by its value carrying its early gradient."""
    tensors = output.values() if isinstance(output, dict) else [output]
    losses = [t for t in tensors
              if isinstance(t, torch.Tensor) and t.requires_grad]
    for loss in losses:
        _check_only_leaf(loss, call.leaf)
    replaced = {}
    for i, loss in enumerate(losses):
        grad, = torch.autograd.grad(
            loss, call.leaf, retain_graph=i < len(losses) - 1)
        replaced[id(loss)] = _WithGradient.apply(call.x, grad, loss.detach())
    if isinstance(output, dict):
        return {k: replaced.get(id(v), v) for k, v in output.items()}
    return replaced.get(id(output), output)


def early_loss_gradient(module: nn.Module) -> None:
    """Form the gradients of ``module``'s losses (its output: a loss tensor,
    or a dict whose entries that need a gradient are losses) with respect to
    its first input in the forward pass (forward hooks).

    The losses must not use any other tensor that needs a gradient (it
    would get none: raises). Without autograd, when the input needs no
    gradient, under ``torch.compile`` and for fp16 inputs, the module runs
    as it is: an fp16 gradient formed before a loss scaler multiplies it
    (fp16 AMP) could underflow.
    """
    calls: List[Optional[_Call]] = []

    def before(module, args):
        if torch.compiler.is_compiling():
            return None
        x = args[0]
        if not (torch.is_grad_enabled() and isinstance(x, torch.Tensor)
                and x.requires_grad and x.dtype != torch.float16):
            calls.append(None)
            return None
        call = _Call(x)
        calls.append(call)
        return (call.leaf, *args[1:])

    def after(module, args, output):
        if torch.compiler.is_compiling():
            return None
        call = calls.pop()
        if call is None:
            return None
        call.hidden.__exit__(None, None, None)
        return None if output is None else _with_gradients(call, output)

    module.register_forward_pre_hook(before)
    module.register_forward_hook(after, always_call=True)
