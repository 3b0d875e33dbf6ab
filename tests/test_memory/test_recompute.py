# Copyright (c) sak_mm contributors. All rights reserved.
"""RecomputeScope: registered tensors, module outputs and weight copies are
rebuilt in backward with the same values, and misuse raises."""
import contextlib

import pytest
import torch
import torch.nn.functional as F

from sak_mm.memory import RecomputeScope, recompute_outputs_of, scope_around
from tests.conftest import saved_bytes


def test_registered_tensor_is_not_saved_and_rebuilt_on_backward():
    small = torch.randn(2, 3, 4, 4, requires_grad=True)
    weight = torch.randn(5, 3, 3, 3, requires_grad=True)
    k = torch.randn((), requires_grad=True)
    calls = []

    def upsample(s):
        calls.append(s.shape)
        return F.interpolate(s, scale_factor=4, mode='bilinear')

    def use(big, w):
        # the conv saves big itself, the product a view of it, sin a
        # float64 cast of it
        return (F.conv2d(big, w).sum() + (big[:, 1:, 2:] * k).sum() +
                big.double().sin().sum())

    def lean(s, w):
        with RecomputeScope() as scope:
            big = upsample(s)
            scope.register(big, upsample, s)
            return use(big, w)

    lean_bytes, out = saved_bytes(lean, small, weight)
    plain_bytes, ref = saved_bytes(lambda s, w: use(upsample(s), w), small,
                                   weight)
    big_bytes = 2 * 3 * 16 * 16 * 4
    # the enclosing hook sees the recipe's input in place of the big map
    # and its cast (packed once per saving op: the same storage counts
    # once)
    assert plain_bytes - lean_bytes == 3 * big_bytes - small.numel() * 4
    grads = torch.autograd.grad(out, (small, weight, k))
    ref_grads = torch.autograd.grad(ref, (small, weight, k))
    assert len(calls) == 5  # lean, plain, thrice in lean's backward
    for g, r in zip(grads, ref_grads):
        assert torch.equal(g, r)


def test_recompute_guards():
    """A wrong recipe raises in backward, an in-place change after saving
    raises at the scope's end, a tensor sharing its storage with others is
    not registered, and no autograd means no scope."""
    x = torch.randn(4, 4, requires_grad=True)
    with RecomputeScope() as scope:
        y = x * 2
        scope.register(y, lambda t: (t * 2).double(), x)
        out = (y * y).sum()  # mul saves y
    with pytest.raises(RuntimeError, match='recomputed tensor is '
                       'torch.float64 .*registered one was torch.float32'):
        out.backward()

    with pytest.raises(RuntimeError, match='modified in place'):
        with RecomputeScope() as scope:
            y = x * 2
            scope.register(y, lambda t: t * 2, x)
            out = (y * y).sum()
            y.add_(1)

    both = x * 2
    half = both[:2]  # shares its storage with the other half
    with RecomputeScope() as scope:
        scope.register(half, lambda t: 1 / 0, x)
        assert scope._entries == []
        (half * half).sum().backward()

    with torch.no_grad(), RecomputeScope() as scope:
        assert RecomputeScope.current() is None
        z = x * 2
        scope.register(z, lambda t: 1 / 0, x)
        assert torch.equal(z.exp(), (x * 2).exp())


def test_module_outputs_register_with_the_innermost_scope():
    """A GELU between two linears: its output is rebuilt, not kept, only
    inside a scope; outside, the hook does nothing."""
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.GELU(),
                              torch.nn.Linear(16, 4))
    recompute_outputs_of(mlp[1])
    x = torch.randn(3, 4)

    def run(scoped):
        def forward(inputs):
            with RecomputeScope() if scoped else contextlib.nullcontext():
                return mlp(inputs)
        return saved_bytes(forward, x)

    lean_bytes, out = run(True)
    plain_bytes, ref = run(False)
    assert plain_bytes - lean_bytes == 3 * 16 * 4  # the GELU output
    assert RecomputeScope.current() is None
    grads = torch.autograd.grad(out.sum(), list(mlp.parameters()))
    ref_grads = torch.autograd.grad(ref.sum(), list(mlp.parameters()))
    for g, r in zip(grads, ref_grads):
        assert torch.equal(g, r)


def test_weight_copies_are_cast_again_in_backward():
    """autocast's bf16 copy of a weight, which the linear saves, is not kept
    inside a scope but cast again from the weight in backward: same
    gradients; a weight changed in place before backward raises."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 16)
    x = torch.randn(4, 8, requires_grad=True)

    def run(scoped):
        def forward(inputs):
            with torch.autocast('cpu', dtype=torch.bfloat16), \
                    RecomputeScope() if scoped else contextlib.nullcontext():
                # a computed input: its cast is kept in both runs
                return lin(inputs * 2)
        return saved_bytes(forward, x)

    lean_bytes, out = run(True)
    plain_bytes, ref = run(False)
    assert plain_bytes - lean_bytes == lin.weight.numel() * 2
    params = [x, *lin.parameters()]
    grads = torch.autograd.grad(out.float().square().sum(), params)
    ref_grads = torch.autograd.grad(ref.float().square().sum(), params)
    for g, r in zip(grads, ref_grads):
        assert torch.equal(g, r)

    _, out = run(True)
    with torch.no_grad():
        lin.weight.mul_(2)
    with pytest.raises(RuntimeError, match=r'\(16, 8\) leaf tensor .*'
                       'modified in place between the forward pass'):
        out.float().sum().backward()


def test_scope_around_a_module_opens_and_closes_with_its_calls():
    """A module given scope_around runs each call in its own scope (none
    when ``when`` says no), and the scope closes when the forward raises."""
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x, fail=False):
            seen.append(RecomputeScope.current())
            if fail:
                raise ValueError('boom')
            return x * 2

    probe = Probe()
    scope_around(probe, when=lambda args: args[0].requires_grad)
    x = torch.randn(3, requires_grad=True)
    probe(x)
    probe(x.detach())
    assert seen[0] is not None and seen[1] is None
    with pytest.raises(ValueError, match='boom'):
        probe(x, fail=True)
    assert seen[2] is not None
    assert RecomputeScope.current() is None  # every scope was closed
