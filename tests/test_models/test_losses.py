# Copyright (c) sak_mm contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.models import (BalancedBCELoss, DistillLoss, MaskedL1Loss,
                           PixelCrossEntropyLoss)
from sak_mm.structures import get_field


def test_cross_entropy_sums_over_valid_pixels():
    pred = torch.zeros(1, 2, 1, 3)
    pred[0, 1, 0, 0] = math.log(3.0)  # p(class 1) = 3/4 at pixel 0
    gt = torch.tensor([[[[1, 0, 255]]]])
    valid = get_field('semseg').valid_mask(gt)
    loss = PixelCrossEntropyLoss(loss_weight=2.0)(pred, gt, valid)
    expected = 2.0 * (-math.log(0.75) - math.log(0.5)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_class_balanced_cross_entropy_weights_by_frequency():
    pred = torch.randn(1, 2, 2, 2)
    gt = torch.tensor([[[[1, 0], [0, 0]]]])
    valid = torch.ones_like(gt, dtype=torch.bool)
    got = PixelCrossEntropyLoss(class_balanced=True)(pred, gt, valid)
    # positives are 1/4 of the pixels: class 0 weighs 1/4, class 1 3/4
    ce = F.cross_entropy(pred, gt[:, 0], reduction='none')[0]
    w = torch.where(gt[0, 0] == 1, 0.75, 0.25)
    assert got.item() == pytest.approx((ce * w).sum().item() / 4, rel=1e-6)


def test_depth_l1_ignores_missing_depth():
    pred = torch.tensor([[[[1.0, 2.0, 5.0]]]])
    gt = torch.tensor([[[[1.5, 0.0, 4.0]]]])
    valid = get_field('depth').valid_mask(gt)
    assert valid.tolist() == [[[[True, False, True]]]]
    assert MaskedL1Loss()(pred, gt, valid).item() == pytest.approx(0.75)


def test_normals_l1_on_normalised_prediction_per_pixel():
    pred = torch.stack([torch.tensor([2.0, 0.0]), torch.tensor([0.0, 3.0]),
                        torch.tensor([0.0, 4.0])]).view(1, 3, 1, 2)
    gt = torch.stack([torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]),
                      torch.tensor([0.0, 0.0])]).view(1, 3, 1, 2)
    valid = get_field('normals').valid_mask(gt)  # pixel 2 has no normal
    assert valid.view(-1).tolist() == [True, False]
    loss = MaskedL1Loss(normalize=True, loss_weight=10.0)(pred, gt, valid)
    assert loss.item() == pytest.approx(0.0)
    gt[0, 0, 0, 0] = 0.0
    gt[0, 1, 0, 0] = 1.0  # now |(1,0,0) - (0,1,0)|_1 = 2 over 1 pixel
    loss = MaskedL1Loss(normalize=True, loss_weight=10.0)(pred, gt, valid)
    assert loss.item() == pytest.approx(20.0)


def test_balanced_bce_matches_weighted_definition():
    logits = torch.tensor([[[[0.3, -1.2, 2.0, 0.5]]]])
    gt = torch.tensor([[[[1.0, 0.0, 255.0, 0.0]]]])
    valid = get_field('edge').valid_mask(gt)
    got = BalancedBCELoss(pos_weight=0.95, loss_weight=50.0)(logits, gt, valid)
    p = torch.sigmoid(torch.tensor([0.3, -1.2, 0.5]))
    per_px = torch.stack([
        -0.95 * torch.log(p[0]), -0.05 * torch.log(1 - p[1]),
        -0.05 * torch.log(1 - p[2])
    ])
    assert got.item() == pytest.approx(50 * per_px.mean().item(), rel=1e-5)


def test_distill_loss_equals_torch_reference_losses():
    s = torch.randn(2, 8, 3, 4)
    t = torch.randn(2, 8, 3, 4)
    out = DistillLoss()(s, t)
    cos = nn.CosineEmbeddingLoss()(s.flatten(1), t.flatten(1), torch.ones(2))
    sl1 = nn.SmoothL1Loss()(s, t)
    assert out['cos'].item() == pytest.approx(0.9 * cos.item(), rel=1e-5)
    assert out['sl1'].item() == pytest.approx(0.1 * sl1.item(), rel=1e-6)
    assert out['loss'].item() == pytest.approx(
        (0.9 * cos + 0.1 * sl1).item(), rel=1e-6)
    zero = DistillLoss()(t, t)
    assert zero['loss'].item() == pytest.approx(0.0, abs=1e-6)
    assert zero['sl1'].item() == 0.0


def test_distill_loss_upsamples_the_smaller_map():
    s = torch.randn(1, 4, 3, 4)
    t = torch.randn(1, 4, 6, 8)
    up = F.interpolate(s, (6, 8), mode='bilinear', align_corners=False)
    torch.testing.assert_close(DistillLoss(loss_weight=2.0)(s, t),
                               DistillLoss(loss_weight=2.0)(up, t))
    # a larger student keeps its size: the teacher is upsampled instead
    t_up = F.interpolate(s, (6, 8), mode='bilinear', align_corners=False)
    torch.testing.assert_close(DistillLoss()(t, s), DistillLoss()(t, t_up))
    with pytest.raises(ValueError, match='aligners'):
        DistillLoss()(torch.randn(1, 4, 3, 4), torch.randn(1, 5, 3, 4))


def test_distillation_resizes_by_height_as_the_reference():
    """The reference (losses.py) resizes the student's map to the
    teacher's when the teacher's is taller, else the teacher's to the
    student's: a taller but smaller teacher map (5 x 6 = 30 < 4 x 10 = 40
    student pixels) still upsamples the student; the shipped shapes agree
    with an area rule, which this case would not."""
    from sak_mm.models.losses import match_resolution
    s, t = torch.randn(1, 2, 4, 10), torch.randn(1, 2, 5, 6)
    s2, t2 = match_resolution(s, t)
    assert s2.shape[-2:] == (5, 6) and t2 is t
    s3, t3 = match_resolution(t, s)  # teacher 4 x 10 not taller than 5 x 6
    assert s3 is t and t3.shape[-2:] == (5, 6)


def test_task_losses_accept_bf16_predictions():
    """Under autocast the heads emit bf16; losses are computed in fp32."""
    pred = torch.randn(1, 2, 2, 2).bfloat16()
    gt = torch.tensor([[[[1, 0], [0, 255]]]])
    valid = get_field('semseg').valid_mask(gt)
    for loss in (PixelCrossEntropyLoss(), PixelCrossEntropyLoss(
            class_balanced=True)):
        out = loss(pred, gt, valid)
        assert out.dtype == torch.float32 and torch.isfinite(out)
    edge = BalancedBCELoss()(pred[:, :1], gt.float().clamp(max=1), valid)
    assert edge.dtype == torch.float32


def test_batch_balanced_bce_weights_by_the_negatives_share():
    """pos_weight=None (MTLoRA's saliency loss): w = share of negatives,
    loss = mean over valid pixels of w * pos_term + (1 - w) * neg_term."""
    logits = torch.tensor([[[[0.5, -1.0, 2.0, 0.0]]]])
    gt = torch.tensor([[[[1, 0, 0, 255]]]])
    valid = gt != 255
    got = BalancedBCELoss(pos_weight=None, loss_weight=2.0)(logits, gt,
                                                           valid)
    w = 2 / 3
    x = logits[0, 0, 0, :3]
    pos = -torch.log(torch.sigmoid(x[0]))
    neg = -torch.log(1 - torch.sigmoid(x[1:]))
    expected = 2.0 * (w * pos + (1 - w) * neg.sum()) / 3
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_masked_l1_ignores_non_finite_values_outside_the_mask():
    """A NaN or inf in a masked-out pixel (of the label or the prediction)
    leaves the loss as over the valid pixels alone."""
    pred = torch.tensor([[[[1.0, float('nan')]]]])
    gt = torch.tensor([[[[3.0, float('inf')]]]])
    valid = torch.tensor([[[[True, False]]]])
    loss = MaskedL1Loss()(pred, gt, valid)
    assert loss.item() == pytest.approx(2.0)


def test_checkpointed_distill_loss_keeps_only_its_inputs():
    """With ``with_cp`` the loss is recomputed in backward: it keeps its two
    inputs, not fp32 maps at the teacher's resolution; the same values and
    gradient."""
    from tests.conftest import kept_bytes
    torch.manual_seed(0)
    s = torch.randn(2, 8, 3, 4, requires_grad=True)
    t = torch.randn(2, 8, 12, 16).bfloat16()
    results = {}
    for with_cp in (False, True):
        loss = DistillLoss(loss_weight=0.5, with_cp=with_cp)
        kept, out = kept_bytes(lambda: loss(s.bfloat16(), t))
        grad, = torch.autograd.grad(out['loss'], s)
        results[with_cp] = kept, out, grad
    kept, out, grad = results[True]
    plain_kept, plain_out, plain_grad = results[False]
    # its bf16 input, the RNG state a checkpoint keeps to replay random ops
    # (5056 bytes on the CPU) and scalars
    assert kept <= s.numel() * 2 + 5056 + 2048
    assert plain_kept > 3 * t.numel() * 4  # fp32 maps at the teacher size
    for key in out:
        assert torch.equal(out[key], plain_out[key])
    assert torch.equal(grad, plain_grad)
