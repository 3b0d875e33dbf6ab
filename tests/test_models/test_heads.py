# Copyright (c) sak_mm contributors. All rights reserved.
"""The task-head contract: losses against the batch's labels at their
size, a sample without a label counting nowhere."""
import pytest
import torch
from mmengine.structures import PixelData

from sak_mm.models import SimpleHead
from sak_mm.structures import MultiTaskDataSample


def sample(gt=None, shape=(24, 32)):
    s = MultiTaskDataSample(metainfo=dict(batch_input_shape=shape))
    if gt is not None:
        s.gt = PixelData(semseg=gt)
    return s


def test_head_loss_uses_the_labels_of_the_samples_that_have_them():
    torch.manual_seed(0)
    head = SimpleHead(in_channels=16, task='semseg', out_channels=5,
                      loss=dict(type='PixelCrossEntropyLoss')).eval()
    feats = [torch.randn(2, 16, 6, 8) for _ in range(4)]
    gt = torch.randint(0, 5, (1, 24, 32))
    both = head.loss(feats, [sample(gt), sample()])
    logits = head(feats)
    alone = head.loss_by_feat(logits[:1], gt[None])
    torch.testing.assert_close(both['loss_ce'], alone['loss_ce'])
    assert head.loss_fn.loss_name == 'loss_ce'
    with pytest.raises(KeyError, match='MultiTaskDataPreprocessor'):
        head.loss(feats, [MultiTaskDataSample(), MultiTaskDataSample()])


def test_simple_head_decodes_at_a_quarter_of_the_input():
    head = SimpleHead(in_channels=16, task='depth', out_channels=1,
                      loss=dict(type='MaskedL1Loss'))
    feats = [torch.randn(2, 16, 3, 4) for _ in range(4)]
    assert head(feats).shape == (2, 1, 12, 16)
    with pytest.raises(ValueError, match='expects 4 levels, got 3'):
        head(feats[:3])


@pytest.mark.parametrize('amp', [False, True])
def test_selective_checkpointing_of_a_head_and_its_loss(amp):
    """``with_cp='selective'``: the head's training loss keeps less for
    backward (its GELU output, the upsampled concat and the loss's
    full-size maps are recomputed), with the plain head's loss, gradients
    and batch-norm statistics, bit for bit; whole-region checkpointing is
    refused (it would update the statistics twice)."""
    import copy

    from tests.conftest import kept_bytes
    torch.manual_seed(0)
    plain = SimpleHead(in_channels=16, task='semseg', out_channels=5,
                       loss=dict(type='PixelCrossEntropyLoss'))
    lean = SimpleHead(in_channels=16, task='semseg', out_channels=5,
                      loss=dict(type='PixelCrossEntropyLoss'),
                      with_cp='selective')
    lean.load_state_dict(plain.state_dict())
    feats = [torch.randn(2, 16, 6, 8, requires_grad=True) for _ in range(4)]
    samples = [sample(torch.randint(0, 5, (1, 96, 128))) for _ in range(2)]

    def step(head):
        static = list(head.parameters()) + list(head.buffers())
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            kept, losses = kept_bytes(
                lambda: head.loss(feats, copy.deepcopy(samples)),
                static=static)
        grads = torch.autograd.grad(losses['loss_ce'],
                                    feats + list(head.parameters()))
        return kept, losses['loss_ce'], grads, head.fuse[1].running_var

    lean_kept, *got = step(lean)
    plain_kept, *expected = step(plain)
    assert lean_kept < 0.6 * plain_kept
    assert torch.equal(got[0], expected[0])
    for a, b in zip(got[1], expected[1]):
        assert torch.equal(a, b)
    assert torch.equal(got[2], expected[2])
    with pytest.raises(ValueError, match='statistics twice'):
        SimpleHead(in_channels=16, task='semseg', out_channels=5,
                   loss=dict(type='PixelCrossEntropyLoss'), with_cp=True)


def test_a_head_set_to_none_is_named_with_the_way_to_drop_a_task():
    """``--cfg-options model.heads.edge=None`` failed with "'NoneType'
    object is not iterable"."""
    import copy

    from sak_mm.registry import MODELS
    from tests.conftest import tiny_sak_cfg
    cfg = tiny_sak_cfg(build_teachers=False)
    cfg['heads'] = copy.deepcopy(cfg['heads'])
    cfg['heads']['edge'] = None
    with pytest.raises(TypeError, match=r"heads.edge is None, not a head "
                       r"config; .*tasks=\['semseg', 'depth', 'normals'\]"):
        MODELS.build(cfg)
