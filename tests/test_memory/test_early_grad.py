# Copyright (c) sak_mm contributors. All rights reserved.
"""Loss gradients formed in the forward pass: the plain loss's value and
gradient, one input-sized map kept for backward."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.memory import early_loss_gradient
from sak_mm.models import DistillLoss
from tests.conftest import saved_bytes


def test_distill_loss_gradient_matches_the_plain_losses():
    """The gradient formed in the forward pass is the plain losses'
    gradient, scaled by the incoming gradient, and backward keeps one
    student-sized gradient, not teacher-sized intermediates."""
    torch.manual_seed(0)
    loss = DistillLoss(loss_weight=0.5)
    early_loss_gradient(loss)
    s = torch.randn(2, 8, 3, 4, requires_grad=True)
    t = torch.randn(2, 8, 6, 8)
    kept, out = saved_bytes(loss, s, t)
    assert kept == s.numel() * s.element_size()
    (3 * out['loss']).backward()

    ref = s.detach().clone().requires_grad_()
    up = F.interpolate(ref, (6, 8), mode='bilinear', align_corners=False)
    cos = nn.CosineEmbeddingLoss()(up.flatten(1), t.flatten(1),
                                   torch.ones(2))
    sl1 = nn.SmoothL1Loss()(up, t)
    (3 * 0.5 * (0.9 * cos + 0.1 * sl1)).backward()
    torch.testing.assert_close(s.grad, ref.grad, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(out['cos'], 0.5 * 0.9 * cos.detach())
    assert not out['cos'].requires_grad
    # no gradient wanted: the plain formula, nothing kept
    with torch.no_grad():
        torch.testing.assert_close(loss(s, t)['sl1'], 0.1 * 0.5 * sl1.detach())


def test_early_gradient_equals_plain_autograd_bit_for_bit():
    """Same ops, same order: the early gradient is the plain one exactly."""
    torch.manual_seed(0)

    class Resized(nn.Module):
        def forward(self, x, target):
            up = F.interpolate(x, target.shape[-2:], mode='bilinear')
            return (up - target).abs().mean()

    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    target = torch.randn(2, 3, 16, 20)
    plain, = torch.autograd.grad(Resized()(x, target), x)
    module = Resized()
    early_loss_gradient(module)
    value = module(x, target)
    assert 'WithGradient' in type(value.grad_fn).__name__
    early, = torch.autograd.grad(value, x)
    assert torch.equal(early, plain)


def test_early_gradient_refuses_other_gradients_and_skips_fp16():
    class Pull(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target

        def forward(self, x):
            return (x.float().sum() - self.target.sum())**2

    x = torch.randn(3, 4, requires_grad=True)
    needs_grad = Pull(torch.randn(3, 4, requires_grad=True))
    early_loss_gradient(needs_grad)
    with pytest.raises(RuntimeError, match='detach the others'):
        needs_grad(x)
    # fp16 maps (fp16 AMP) keep plain autograd: an unscaled fp16 gradient
    # of a mean over many pixels would underflow before the loss scaler
    half = Pull(torch.zeros(3, 4))
    early_loss_gradient(half)
    out = half(x.half())
    assert 'WithGradient' not in type(out.grad_fn).__name__
    # the hooks leave no saved-tensor hooks behind, also after a failure
    kept, _ = saved_bytes(lambda t: (t * t).sum(), x)
    assert kept == x.numel() * 4
