# Copyright (c) sak_mm contributors. All rights reserved.
"""SimpleHead's memory-lean forward, and the recompute helper under it."""
import contextlib
import copy

import pytest
import torch
import torch.nn.functional as F

from sak_mm.models import SimpleHead
from sak_mm.models.utils import RecomputeScope, recompute_outputs_of
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


#: CUDA too where there is one (cuDNN convolutions and BN, the GPU path);
#: there, bilinear upsampling's backward uses atomics, so gradients are
#: compared within rounding instead of bit for bit
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def assert_same(actual, expected, device):
    if device == 'cpu':
        assert torch.equal(actual, expected)
    else:
        torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('amp', [False, True])
def test_simple_head_gradients_equal_the_plain_composition(amp, device):
    """The lean forward keeps half the full-resolution maps and gives
    bit-identical outputs, gradients and BN statistics."""
    torch.manual_seed(0)
    head = SimpleHead(in_channels=16, task='semseg', out_channels=5,
                      loss=dict(type='PixelCrossEntropyLoss')).to(device)
    ref_head = copy.deepcopy(head)
    feats = [
        torch.randn(2, 16, 3, 4, device=device, requires_grad=True)
        for _ in range(4)
    ]

    def plain(*levels):
        conv, norm, act = ref_head.fuse
        ups = [
            F.interpolate(
                lin(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous(),
                size=(12, 16), mode='bilinear', align_corners=False)
            for lin, f in zip(ref_head.linears, levels)
        ]
        return ref_head.cls(act(norm(conv(torch.cat(ups, dim=1)))))

    with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
        lean_bytes, out = saved_bytes(lambda *f: head(list(f)), *feats)
        plain_bytes, ref = saved_bytes(plain, *feats)
    full_map = 2 * 16 * 12 * 16 * (2 if amp else 4)
    assert plain_bytes - lean_bytes >= 2 * full_map - 4 * 2 * 4 * 3 * 4 * 4
    assert_same(out, ref, device)
    params = list(head.parameters())
    grads = torch.autograd.grad(out.float().square().sum(), feats + params)
    ref_grads = torch.autograd.grad(ref.float().square().sum(),
                                    feats + list(ref_head.parameters()))
    for g, r in zip(grads, ref_grads):
        assert_same(g, r, device)
    assert_same(head.fuse[1].running_var, ref_head.fuse[1].running_var,
                device)


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('task,out_channels,loss', [
    ('semseg', 5, dict(type='PixelCrossEntropyLoss')),
    ('normals', 3, dict(type='MaskedL1Loss', normalize=True)),
])
def test_task_loss_keeps_one_logits_sized_gradient(task, out_channels, loss,
                                                   device):
    """The loss on logits resized to the input keeps, for backward, its
    gradient at the logits' size instead of full-size fp32 intermediates;
    value and gradient are the plain ones."""
    torch.manual_seed(0)
    head = SimpleHead(in_channels=16, task=task, out_channels=out_channels,
                      loss=loss)
    logits = torch.randn(2, out_channels, 6, 8, device=device,
                         requires_grad=True)
    if task == 'semseg':
        gt = torch.randint(0, out_channels, (2, 1, 24, 32), device=device)
        gt[:, :, :4] = 255
    else:
        gt = F.normalize(torch.randn(2, 3, 24, 32, device=device), dim=1)
        gt[:, :, :4] = 0  # invalid normals
    with torch.autocast(device, dtype=torch.bfloat16):
        low = logits.bfloat16()
        kept, losses = saved_bytes(head.loss_by_feat, low, gt, (24, 32))
        valid = head.field.valid_mask(gt)
        plain = head.loss_fn(head._resize(low, (24, 32)), gt, valid)
    assert kept == low.numel() * low.element_size()
    (value, ) = losses.values()
    assert_same(value, plain, device)
    grad, = torch.autograd.grad(value, logits)
    ref, = torch.autograd.grad(plain, logits)
    assert_same(grad, ref, device)
    assert grad.abs().sum() > 0
