# Copyright (c) sak_mm contributors. All rights reserved.
"""Memory saving applied from outside the model code: what each module
type's policy no longer keeps for backward, with the values of the plain
model (bit for bit where no gradient changes its summation order)."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.memory import RecomputeScope, apply_memory_saving, policy_of
from sak_mm.memory.policies import (rebuild_head_activations,
                                    rebuild_stem_activations,
                                    share_router_input_copies)
from sak_mm.models import MoRNeck, SimpleHead
from sak_mm.registry import MEMORY_POLICIES, MODELS
from tests.conftest import (DEVICES, assert_same, saved_bytes, tiny_sak_cfg,
                            tiny_stem)
from tests.test_models.test_distiller import assert_identical_steps, make_batch


def build_backbone(**kwargs):
    return MODELS.build(dict(type='TSAPBackbone', stem=tiny_stem(),
                             teachers=['dinov2', 'clip', 'sam'], **kwargs))


def step(model, data, amp=False):
    """One bf16 (or fp32) loss forward and backward: bytes kept for
    backward (parameters not counted), losses and gradients."""
    torch.manual_seed(0)  # the routers' gating noise
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
        kept, losses = saved_bytes(lambda: model(**data, mode='loss'),
                                   params=model.parameters())
    model.parse_losses(losses)[0].backward()
    grads = {n: p.grad for n, p in model.named_parameters()
             if p.grad is not None}
    return kept, losses, grads


@pytest.mark.parametrize('amp', [False, True])
def test_save_memory_keeps_less_with_the_same_training_step(amp):
    """The config switch: same parameters and checkpoint keys, the same
    losses bit for bit, gradients within rounding (the early loss gradients
    meet the others in another order), a quarter less kept for backward."""
    model = MODELS.build(tiny_sak_cfg())
    plain = MODELS.build(tiny_sak_cfg(save_memory=False))
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.teacher_models = model.teacher_models
    data = model.data_preprocessor(make_batch(), True)
    lean_bytes, losses, grads = step(model, data, amp)
    plain_bytes, ref_losses, ref_grads = step(plain, data, amp)
    assert lean_bytes < 0.75 * plain_bytes
    assert losses.keys() == ref_losses.keys()
    for key in losses:
        assert torch.equal(losses[key], ref_losses[key]), key
    assert grads.keys() == ref_grads.keys()
    for name in grads:  # relative to each gradient's norm
        error = (grads[name] - ref_grads[name]).norm()
        assert error <= (1e-2 if amp else 1e-5) * ref_grads[name].norm(), name


def _casts_of_parameters(model, data):
    """bf16 loss forward + backward: the number of saved tensors that are
    copies of parameters, the losses and the gradients."""
    params = {id(p) for p in model.parameters()}
    copies = []

    def pack(t):
        base = t if t._base is None else t._base
        node = base.grad_fn
        if node is not None and node.name() == 'ToCopyBackward0':
            source = getattr(node.next_functions[0][0], 'variable', None)
            copies.append(source is not None and id(source) in params)
        return t

    torch.manual_seed(0)  # the routers' gating noise
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()
             if p.grad is not None}
    return sum(copies), losses, grads


def test_bf16_training_keeps_no_weight_copies_for_backward(monkeypatch):
    """The loss forward runs in a RecomputeScope: autocast's bf16 weight
    copies are cast again in backward instead of being kept, and the
    losses and gradients are bit-identical to keeping them."""
    model = MODELS.build(tiny_sak_cfg())
    plain_model = copy.deepcopy(model)  # BN statistics move per step
    data = model.data_preprocessor(make_batch(), training=True)
    kept, losses, grads = _casts_of_parameters(model, data)
    from sak_mm.memory import recompute
    monkeypatch.setattr(recompute, '_cast_source', lambda base: None)
    plain_kept, plain_losses, plain_grads = _casts_of_parameters(
        plain_model, data)
    assert kept == 0 and plain_kept > 0
    assert_identical_steps((losses, grads), (plain_losses, plain_grads))


@pytest.mark.parametrize('amp', [False, True])
def test_stem_block_activations_are_rebuilt_not_kept(amp):
    """Each stem block's GELU output (B x tokens x MLP width) and its two
    LayerNorm outputs (their bf16 casts under autocast) are recomputed in
    backward, and so is its fp32 residual stream after attention, from the
    attention output (which is kept instead): that much less is kept, and
    every gradient is unchanged."""
    torch.manual_seed(0)
    lean_bb = build_backbone()
    plain_bb = copy.deepcopy(lean_bb)
    rebuild_stem_activations(lean_bb)
    x = torch.randn(2, 3, 48, 64)

    def scoped(bb, inputs):
        with RecomputeScope():  # inside the counting hooks, so it acts
            return bb(inputs)

    def run(bb):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            kept, out = saved_bytes(scoped, bb, x)
        loss = sum(m.float().square().sum() for m in out['tas']) + sum(
            m.float().square().sum() for maps in out['tsap'].values()
            for m in maps)
        return kept, torch.autograd.grad(loss, list(bb.parameters()))

    lean, grads = run(lean_bb)
    plain, ref = run(plain_bb)
    tokens = 1 + 3 * 4
    hidden = lean_bb.stem.layers[0].ffn.layers[1].in_features
    width = 2 if amp else 4
    per_block = 2 * tokens * (hidden + 2 * lean_bb.embed_dims) * width
    per_block += 2 * tokens * lean_bb.embed_dims * (4 - width)  # x, a kept
    assert plain - lean == len(lean_bb.stem.layers) * per_block
    for g, r in zip(grads, ref):
        assert torch.equal(g, r)


def test_checkpointed_stem_blocks_get_no_scope():
    """With ``with_cp`` the blocks are recomputed whole in backward: the
    policy opens no scope around them while training."""
    bb = build_backbone(with_cp=True)
    rebuild_stem_activations(bb)
    seen = []
    bb.stem.layers[0].register_forward_pre_hook(
        lambda m, args: seen.append(RecomputeScope.current()))
    x = torch.randn(1, 3, 48, 64)
    bb.train()
    bb(x)
    bb.eval()
    bb(x)
    assert seen[0] is None and seen[1] is not None


def test_bf16_routers_of_a_level_share_one_copy_of_its_tokens():
    """Under autocast the level's TAS tokens are cast once for all tasks'
    routers (one bf16 copy kept per level, not one per router), with the
    gates each router gives on its own."""
    tasks = ['semseg', 'depth', 'normals']
    neck = MoRNeck(tasks, ['dino'], in_channels=8).eval()
    share_router_input_copies(neck)
    torch.manual_seed(0)
    tas = [torch.randn(2, 8, 3, 4, requires_grad=True) for _ in range(4)]
    tsap = {'dino': [torch.randn(2, 8, 3, 4) for _ in range(4)]}
    token_copies = set()

    def pack(t):
        if t.dtype == torch.bfloat16 and t.numel() == 2 * 12 * 8:
            token_copies.add(t.untyped_storage().data_ptr())
        return t

    with torch.autocast('cpu', dtype=torch.bfloat16):
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            _, gates = neck(tas, tsap)
        for level, z in enumerate(tas):
            tokens = z.flatten(2).transpose(1, 2)
            for task in tasks:
                alone = neck.routers[f'{task}_{level}'](tokens)
                assert torch.equal(gates[task][:, level], alone)
    assert len(token_copies) == len(tas)


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('amp', [False, True])
def test_simple_head_gradients_equal_the_plain_composition(amp, device):
    """The lean head keeps half the full-resolution maps and gives
    bit-identical outputs, gradients and BN statistics."""
    torch.manual_seed(0)
    head = SimpleHead(in_channels=16, task='semseg', out_channels=5,
                      loss=dict(type='PixelCrossEntropyLoss')).to(device)
    ref_head = copy.deepcopy(head)
    apply_memory_saving(head)
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
    """The loss on logits resized to the labels keeps, for backward, its
    gradient at the logits' size instead of full-size fp32 intermediates;
    value and gradient are the plain ones."""
    torch.manual_seed(0)
    head = SimpleHead(in_channels=16, task=task, out_channels=out_channels,
                      loss=loss)
    apply_memory_saving(head)
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
        kept, losses = saved_bytes(head.loss_by_feat, low, gt)
        valid = head.field.valid_mask(gt)
        plain = head.loss_fn.loss(head._resize(low, (24, 32)), gt, valid)
    assert kept == low.numel() * low.element_size()
    (value, ) = losses.values()
    assert_same(value, plain, device)
    grad, = torch.autograd.grad(value, logits)
    ref, = torch.autograd.grad(plain, logits)
    assert_same(grad, ref, device)
    assert grad.abs().sum() > 0


def test_policies_are_found_by_class_and_applied_once():
    """Each module type's policy is looked up by its class (or nearest
    base) name in MEMORY_POLICIES, where a project registers its own, and
    applying twice changes nothing."""
    calls = []

    def record(module):
        calls.append(module)

    class Tiny(nn.Module):
        def forward(self, x):
            return x * 2

    class TinierHead(SimpleHead):
        pass

    MEMORY_POLICIES.register_module('Tiny', module=record)
    try:
        tiny = Tiny()
        assert policy_of(tiny) is record
        assert policy_of(TinierHead(
            in_channels=8, task='depth', out_channels=1,
            loss=dict(type='MaskedL1Loss'))) is rebuild_head_activations
        root = nn.Sequential(tiny)
        apply_memory_saving(root)
        apply_memory_saving(root)
        assert calls == [tiny]
    finally:
        MEMORY_POLICIES.module_dict.pop('Tiny')
