# Copyright (c) sak_mm contributors. All rights reserved.
"""FGMoE's pieces by hand-computed values: routing (eq. (11)-(13)), shared
experts (eq. (14)), routed dispatch against the dense reference, the
deformable mixer against plain convolution and softmax attention, the
global residual (eq. (15)) and parameter counts by formula."""
import pytest
import torch
import torch.nn.functional as F

from projects.fgmoe.fgmoe import (DeformableConv2d, DeformableMixer,
                                  FGMoEDecoder, FineGrainedMoE, TopKRouter,
                                  balance_loss)


def test_router_keeps_top_k_and_renormalises():
    router = TopKRouter(channels=2, num_experts=4, top_k=2)
    with torch.no_grad():
        router.centroids.copy_(torch.tensor(
            [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, 0.5]]))
    x = torch.tensor([[[2.0, 1.0]]])  # affinities 2, 1, -2, 1.5
    gates, experts, scores = router(x)
    s = torch.sigmoid(torch.tensor([2.0, 1.0, -2.0, 1.5]))
    torch.testing.assert_close(scores[0, 0], s)
    assert experts[0, 0].tolist() == [0, 3]
    torch.testing.assert_close(
        gates[0, 0], torch.stack([s[0], s[3]]) / (s[0] + s[3]))
    assert gates.sum(-1).allclose(torch.ones(1, 1))


def test_router_rejects_top_k_beyond_experts():
    with pytest.raises(ValueError, match='top_k'):
        TopKRouter(4, num_experts=3, top_k=4)


def _moe(dispatch='routed', **kwargs):
    torch.manual_seed(0)
    args = dict(channels=8, hidden=4, num_shared=2, num_routed=5, top_k=2)
    args.update(kwargs)
    return FineGrainedMoE(dispatch=dispatch, **args)


def test_shared_experts_are_always_on():
    """y = sum of shared experts + gated routed experts (eq. (10), (14)),
    with every expert computed by hand."""
    moe = _moe()
    tokens = torch.randn(2, 7, 8)
    y, (gates, experts, _) = moe(tokens)
    x = moe.norm(tokens).reshape(-1, 8)

    def expert(bank, e, v):
        return F.gelu(v @ bank.w1[e] + bank.b1[e]) @ bank.w2[e] + bank.b2[e]

    expected = torch.zeros_like(x)
    g, idx = gates.reshape(-1, 2), experts.reshape(-1, 2)
    for t in range(x.shape[0]):
        for e in range(2):
            expected[t] += expert(moe.shared, e, x[t])
        for k in range(2):
            expected[t] += g[t, k] * expert(moe.routed, idx[t, k], x[t])
    torch.testing.assert_close(y.reshape(-1, 8), expected)
    # silenced shared experts leave the routed part alone
    with torch.no_grad():
        for p in moe.shared.parameters():
            p.zero_()
    y_routed, _ = moe(tokens)
    routed = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for k in range(2):
            routed[t] += g[t, k] * expert(moe.routed, idx[t, k], x[t])
    torch.testing.assert_close(y_routed.reshape(-1, 8), routed)


def test_gradients_reach_only_chosen_experts_and_the_centroids():
    moe = _moe(num_routed=6, top_k=1)
    with torch.no_grad():  # every token prefers expert 4
        moe.routers[0].centroids.zero_()
        moe.routers[0].centroids[4] = 0.5
        moe.routers[0].centroids[2] = 0.1
    tokens = torch.randn(1, 5, 8).abs() + 0.1
    with torch.no_grad():  # a LayerNorm with a positive output
        moe.norm.weight.zero_()
        moe.norm.bias.fill_(1.0)
    y, (_, experts, _) = moe(tokens)
    assert set(experts.flatten().tolist()) == {4}
    (y ** 2).sum().backward()
    per_expert = moe.routed.w1.grad.flatten(1).abs().sum(1)
    assert per_expert[4] > 0
    assert torch.all(per_expert[[0, 1, 2, 3, 5]] == 0)
    assert moe.shared.w1.grad.abs().sum() > 0
    # top-1 renormalises to G = 1: no gradient to the centroids; top-2 does
    assert moe.routers[0].centroids.grad.abs().sum() == 0
    moe2 = _moe(num_routed=6, top_k=2)
    y2, _ = moe2(tokens)
    y2.sum().backward()
    assert moe2.routers[0].centroids.grad.abs().sum() > 0


@pytest.mark.parametrize('num_routed,top_k', [(6, 3), (4, 4), (16, 2)])
def test_routed_dispatch_equals_dense_reference(num_routed, top_k):
    routed = _moe('routed', num_routed=num_routed, top_k=top_k)
    dense = _moe('dense', num_routed=num_routed, top_k=top_k)
    dense.load_state_dict(routed.state_dict())
    tokens = torch.randn(3, 50, 8, requires_grad=True)
    y_r, _ = routed(tokens)
    y_d, _ = dense(tokens)
    torch.testing.assert_close(y_r, y_d, rtol=1e-5, atol=1e-6)
    grad = torch.randn_like(y_r)
    g_r = torch.autograd.grad(y_r, [tokens, *routed.parameters()], grad)
    g_d = torch.autograd.grad(y_d, [tokens, *dense.parameters()], grad)
    for a, b in zip(g_r, g_d):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_balance_loss_is_one_when_balanced():
    experts = torch.tensor([[[0], [1], [2], [3]]])
    scores = torch.full((1, 4, 4), 0.5)
    gates = torch.ones(1, 4, 1)
    assert balance_loss(gates, experts, scores).item() == pytest.approx(1.0)
    skewed = torch.zeros(1, 4, 1, dtype=torch.long)
    scores = torch.tensor([[0.9, 0.1, 0.1, 0.1]]).expand(1, 4, 4)
    assert balance_loss(gates, skewed, scores).item() == pytest.approx(
        4 * 0.9 / 1.2)


def test_zero_offset_deformable_conv_is_plain_conv():
    torch.manual_seed(0)
    dc = DeformableConv2d(6, kernel_size=3)
    x = torch.randn(2, 6, 9, 11, requires_grad=True)
    out = dc(x)
    ref = F.conv2d(x, dc.weight, dc.bias, padding=1)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    assert dc.offset.weight.grad.abs().sum() > 0  # offsets learn
    # a whole-pixel offset shifts the sampling: offset (dy, dx) = (0, 1)
    with torch.no_grad():
        dc.offset.bias.copy_(torch.tensor([0.0, 1.0] * 9))
    shifted = dc(x)
    ref = F.conv2d(F.pad(x[..., 1:], (0, 1)), dc.weight, dc.bias, padding=1)
    torch.testing.assert_close(shifted[..., 1:-1], ref[..., 1:-1], rtol=1e-5,
                               atol=1e-5)


def test_mixer_is_conv_then_softmax_attention():
    """Eq. (1)-(6) written out with plain convolution and an explicit
    softmax attention (zero offsets at init)."""
    torch.manual_seed(0)
    mixer = DeformableMixer(8, kernel_size=3, num_heads=2).eval()
    x = torch.randn(2, 8, 5, 6)
    out = mixer(x)
    conv1, _, bn1 = mixer.channel_conv
    h = bn1(F.gelu(conv1(x)))
    dc = mixer.deform_conv
    h = h + mixer.deform_post[1](F.gelu(
        F.conv2d(h, dc.weight, dc.bias, padding=1)))
    tokens = h.flatten(2).transpose(1, 2)
    q, k, v = mixer.qkv(mixer.norm(tokens)).chunk(3, dim=-1)

    def heads(t):
        return t.reshape(2, 30, 2, 4).transpose(1, 2)

    attn = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / 2.0, -1)
    a = (attn @ heads(v)).transpose(1, 2).reshape(2, 30, 8)
    torch.testing.assert_close(out, tokens + mixer.proj(a), rtol=1e-5,
                               atol=1e-5)


def _decoder(**kwargs):
    torch.manual_seed(0)
    heads = dict(
        semseg=dict(out_channels=5, loss=dict(type='PixelCrossEntropyLoss')),
        depth=dict(out_channels=1, loss=dict(type='MaskedL1Loss')))
    args = dict(in_channels=[4, 8], heads=heads, channels=8, num_levels=2,
                mixer=dict(num_heads=2),
                task_moe=dict(hidden=4, num_shared=2, num_routed=6, top_k=3),
                global_moe=dict(hidden=4, num_shared=2, num_routed=6,
                                top_k=3))
    args.update(kwargs)
    return FGMoEDecoder(**args).eval()


def test_global_moe_residual_reaches_every_head():
    """y_g = GMoE(X) + X (eq. (15)) is added to each task's branch: with the
    global experts silenced and no mixer or task MoE, each head sees 2X."""
    dec = _decoder(mixer=None, task_moe=None)
    with torch.no_grad():
        for bank in (dec.global_moe.shared, dec.global_moe.routed):
            bank.w2.zero_()
            bank.b2.zero_()
    feats = [torch.randn(2, 4, 6, 8), torch.randn(2, 8, 3, 4)]
    seen = {}
    for t, head in dec.task_heads.items():
        head.register_forward_hook(
            lambda m, inp, out, t=t: seen.__setitem__(t, inp[0]))
    dec(feats)
    x = dec.aggregator(feats)
    for t in dec.tasks:
        torch.testing.assert_close(seen[t], 2 * x)


def test_task_routed_global_moe_gives_each_task_a_router():
    dec = _decoder(task_routed_global=True)
    names = [n for n, _ in dec.named_routers()]
    assert names == ['semseg', 'depth', 'global.semseg', 'global.depth']
    assert len(dec.global_moe.routers) == 2
    logits = dec([torch.randn(1, 4, 6, 8), torch.randn(1, 8, 3, 4)])
    assert set(logits) == {'semseg', 'depth'}


def test_parameter_count_matches_the_formula():
    c, h, ns, nr, hc = 8, 4, 2, 6, 3
    dec = _decoder(head_channels=hc)
    c_in = 4 + 8
    aggregator = c_in * c + c + 2 * c
    mixer = (c * c + c + 2 * c            # 1x1 conv, BN
             + c * c * 9 + c              # deformable conv
             + c * 18 * 9 + 18            # offset conv
             + 2 * c                      # BN
             + 2 * c                      # LN
             + 3 * c * c + 3 * c + c * c + c)  # qkv, proj
    moe = 2 * c + (ns + nr) * (2 * c * h + h + c) + nr * c
    heads = {'semseg': 5, 'depth': 1}
    head = sum(c * hc * 9 + 2 * hc + hc * o + o for o in heads.values())
    expected = aggregator + 2 * mixer + 2 * moe + moe + head
    assert sum(p.numel() for p in dec.parameters()) == expected
    assert sum(p.numel() for p in dec.aggregator.parameters()) == aggregator
    assert sum(p.numel() for p in dec.mixers.parameters()) == 2 * mixer
    assert sum(p.numel() for p in dec.global_moe.parameters()) == moe


def test_optional_balance_loss_is_named_and_off_by_default():
    from mmengine.structures import PixelData

    from sak_mm.structures import MultiTaskDataSample
    feats = [torch.randn(2, 4, 6, 8), torch.randn(2, 8, 3, 4)]
    samples = []
    for _ in range(2):
        s = MultiTaskDataSample(metainfo=dict(batch_input_shape=(24, 32)))
        s.gt = PixelData(semseg=torch.randint(0, 5, (1, 24, 32)),
                         depth=torch.rand(1, 24, 32) + 0.5)
        samples.append(s)
    assert set(_decoder().loss(feats, samples)) == {'semseg.loss_ce',
                                                    'depth.loss_l1'}
    losses = _decoder(balance_loss_weight=0.1).loss(feats, samples)
    assert set(losses) == {'semseg.loss_ce', 'depth.loss_l1',
                           'fgmoe.loss_balance'}
    assert losses['fgmoe.loss_balance'].item() > 0
    losses['fgmoe.loss_balance'].backward()  # it reaches the centroids
    dec = _decoder(balance_loss_weight=0.1)
    dec.loss(feats, samples)['fgmoe.loss_balance'].backward()
    assert dec.task_moes.semseg.routers[0].centroids.grad.abs().sum() > 0


def test_routed_dispatch_under_bf16_autocast_matches_dense():
    """Under autocast the experts' GEMMs run in bf16; routed and dense
    still choose the same experts and agree to bf16 precision."""
    routed = _moe('routed', num_routed=6, top_k=3)
    dense = _moe('dense', num_routed=6, top_k=3)
    dense.load_state_dict(routed.state_dict())
    tokens = torch.randn(2, 40, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y_r, (g_r, e_r, _) = routed(tokens)
        y_d, (g_d, e_d, _) = dense(tokens)
    assert y_r.dtype == y_d.dtype and g_r.dtype == torch.float32
    assert torch.equal(e_r, e_d)
    torch.testing.assert_close(y_r.float(), y_d.float(), rtol=2e-2,
                               atol=2e-2)
    reference, _ = routed.float()(tokens)
    torch.testing.assert_close(y_r.float(), reference, rtol=5e-2, atol=5e-2)
