# Copyright (c) sak_mm contributors. All rights reserved.
"""Activation checkpointing in its three forms: the values of the plain
module (bit for bit, batch-norm statistics included where the form allows
batch norm), less kept for backward."""
import copy

import pytest
import torch
import torch.nn as nn

from sak_mm.models.utils.checkpoint import check_with_cp, checkpointed
from tests.conftest import kept_bytes


def conv_bn_block():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.GELU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.GELU(), nn.Conv2d(16, 4, 1))


def run(block, x, with_cp, amp):
    """Bytes kept, output, input and parameter gradients, BN state."""
    params = list(block.parameters()) + list(block.buffers())
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
        kept, out = kept_bytes(
            lambda: checkpointed(block, x, with_cp=with_cp), static=params)
    grads = torch.autograd.grad(out.float().square().sum(),
                                [x] + list(block.parameters()))
    bn = block[1]
    return kept, out, grads, (bn.running_mean, bn.running_var,
                              bn.num_batches_tracked)


@pytest.mark.parametrize('amp', [False, True])
def test_selective_checkpointing_keeps_less_with_the_same_values(amp):
    """'selective' keeps the convolution and batch-norm outputs and
    recomputes the GELUs and autocast's casts: less is kept, and the
    outputs, gradients and BN statistics (updated once) are the plain
    ones."""
    block = conv_bn_block().train()
    x = torch.randn(2, 3, 12, 16, requires_grad=True)
    plain = run(copy.deepcopy(block), x, False, amp)
    selective = run(copy.deepcopy(block), x, 'selective', amp)
    full = run(copy.deepcopy(block), x, True, amp)
    assert full[0] < selective[0] < plain[0]
    # what 'selective' no longer keeps: the two GELU outputs (and, under
    # autocast, the casts of the input and the weights)
    gelu = 2 * 16 * 12 * 16 * (2 if amp else 4)
    assert plain[0] - selective[0] >= 2 * gelu
    for got in (selective, full):
        assert torch.equal(got[1], plain[1])
        for a, b in zip(got[2], plain[2]):
            assert torch.equal(a, b)
    for a, b in zip(selective[3], plain[3]):
        assert torch.equal(a, b)
    # the whole-region form runs batch norm twice (PyTorch's caveat; it
    # is meant for the ViT blocks, which have none)
    assert full[3][2] == 2 * plain[3][2]


def test_with_cp_takes_three_forms():
    for value in (False, True, 'selective'):
        assert check_with_cp(value) == value
    for value in ('full', 1, None, 'Selective'):
        with pytest.raises(ValueError, match="one of False, True, "
                           "'selective', got"):
            check_with_cp(value)
    with pytest.raises(ValueError, match="one of False, 'selective', got "
                       "True: batch norm"):
        check_with_cp(True, (False, 'selective'), ': batch norm')
