# Copyright (c) sak_mm contributors. All rights reserved.
"""FGMoE's pieces by hand-computed values: routing (eq. (11)-(13)), shared
experts (eq. (14)), routed dispatch against the dense reference, eq. (3)'s
channel-wise deformable operator against torchvision's deform_conv2d, the
deformable mixer against plain convolution and softmax attention, the
global residual (eq. (15)) and parameter counts by formula."""
import os.path as osp
import re
import runpy
import sys
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

from projects.fgmoe.fgmoe import (ChannelwiseDeformConv, DeformableConv2d,
                                  DeformableMixer, FGMoEDecoder,
                                  FineGrainedMoE, TopKRouter, balance_loss,
                                  sample_per_channel)

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                 'projects', 'fgmoe', 'tools')


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


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('offsets', ['zero', 'integer', 'fractional'])
def test_channelwise_operator_is_deform_conv2d_with_one_group_per_channel(
        dtype, offsets):
    """Eq. (3) as torchvision computes it (a 1 x 1 kernel, C offset groups):
    the same values and the same gradients for the input, the offsets, the
    weight and the bias -- at zero offsets (where training starts), at
    whole pixels (the kink of bilinear sampling) and beyond the border."""
    torch.manual_seed(0)
    b, c, h, w = 2, 6, 5, 7
    x = torch.randn(b, c, h, w, dtype=dtype, requires_grad=True)
    offset = {
        'zero': torch.zeros(b, 2 * c, h, w, dtype=dtype),
        'integer': torch.randint(-3, 4, (b, 2 * c, h, w)).to(dtype),
        'fractional': 3 * torch.randn(b, 2 * c, h, w, dtype=dtype),
    }[offsets].requires_grad_(True)
    weight = torch.randn(c, c, 1, 1, dtype=dtype, requires_grad=True)
    bias = torch.randn(c, dtype=dtype, requires_grad=True)
    grad = torch.randn(b, c, h, w, dtype=dtype)
    inputs = (x, offset, weight, bias)
    ours = F.conv2d(sample_per_channel(x, offset), weight, bias)
    ref = deform_conv2d(x, offset, weight, bias)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else {}
    torch.testing.assert_close(ours, ref, **tol)
    for g_ours, g_ref in zip(torch.autograd.grad(ours, inputs, grad),
                             torch.autograd.grad(ref, inputs, grad)):
        torch.testing.assert_close(g_ours, g_ref, **tol)


def test_channelwise_sampling_in_bf16_keeps_positions_exact():
    """bf16 maps (autocast) wider than 256 pixels: the positions are not
    rounded to bf16 (which spaces integers 2 apart there)."""
    x = torch.randn(1, 2, 2, 300)
    offset = torch.full((1, 4, 2, 300), 0.5)
    out = sample_per_channel(x.bfloat16(), offset.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(),
                               sample_per_channel(x.bfloat16().float(),
                                                  offset),
                               rtol=1e-2, atol=1e-2)


def test_channelwise_deform_conv_starts_as_1x1_conv_and_moves_channels():
    torch.manual_seed(0)
    dc = ChannelwiseDeformConv(4)
    x = torch.randn(1, 4, 6, 8, requires_grad=True)
    out = dc(x)
    torch.testing.assert_close(out, dc.mix(x))
    out.square().sum().backward()
    assert dc.offset[1].weight.grad.abs().sum() > 0  # the offsets learn
    # channel 1 displaced one pixel right ((dy, dx) = (0, 1)), the others
    # in place: only channel 1's contribution moves
    with torch.no_grad():
        dc.offset[1].bias.zero_()
        dc.offset[1].bias[3] = 1.0
    shifted = x.detach().clone()
    shifted[:, 1, :, :-1] = shifted[:, 1, :, 1:].clone()
    shifted[:, 1, :, -1] = 0
    torch.testing.assert_close(dc(x), dc.mix(shifted))
    assert sum(p.numel() for p in dc.parameters()) == (
        (4 * 18 * 9 + 18) + (18 // 2 * 8 * 9 + 8) + (4 * 4 + 4))


def test_mixer_is_eq_1_to_6_with_plain_convolution_and_softmax_attention():
    """Eq. (1)-(6) written out with plain convolution and an explicit
    softmax attention (zero offsets at init): ``X_a`` is the attention
    output alone (eq. (6)); ``attn_residual=True`` adds ``X_C'``."""
    torch.manual_seed(0)
    mixer = DeformableMixer(8, num_heads=2).eval()
    x = torch.randn(2, 8, 5, 6)
    conv1, _, bn1 = mixer.channel_conv
    h = bn1(F.gelu(conv1(x)))
    h = h + mixer.deform_post[1](F.gelu(mixer.deform_conv.mix(h)))
    tokens = h.flatten(2).transpose(1, 2)
    q, k, v = mixer.qkv(mixer.norm(tokens)).chunk(3, dim=-1)

    def heads(t):
        return t.reshape(2, 30, 2, 4).transpose(1, 2)

    attn = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / 2.0, -1)
    a = mixer.proj((attn @ heads(v)).transpose(1, 2).reshape(2, 30, 8))
    torch.testing.assert_close(mixer(x), a, rtol=1e-5, atol=1e-5)
    mixer.attn_residual = True
    torch.testing.assert_close(mixer(x), tokens + a, rtol=1e-5, atol=1e-5)


def test_mixer_3x3_option_and_a_wrong_name():
    mixer = DeformableMixer(8, deform='3x3', num_heads=2)
    assert isinstance(mixer.deform_conv, DeformableConv2d)
    with pytest.raises(ValueError, match="'channelwise', '3x3'"):
        DeformableMixer(8, deform='1x3')


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
             + c * c + c                  # eq. (3)'s 1x1 weight W_d
             + c * 18 * 9 + 18            # offset convs: C -> 18,
             + 9 * 2 * c * 9 + 2 * c      # 18 -> 2C in 2 groups
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


def test_routed_dispatch_in_float64_keeps_float64():
    """A float64 model (e.g. for gradient checks) routes and sums in
    float64: the fp32 cast of the router only lifts lower precisions."""
    routed = _moe('routed', num_routed=6, top_k=3).double()
    dense = _moe('dense', num_routed=6, top_k=3).double()
    tokens = torch.randn(2, 40, 8, dtype=torch.float64, requires_grad=True)
    y_r, (g_r, _, s_r) = routed(tokens)
    y_d, _ = dense(tokens)
    assert y_r.dtype == g_r.dtype == s_r.dtype == torch.float64
    torch.testing.assert_close(y_r, y_d, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda t: routed(t)[0],
                                    (tokens[:, :6], ))


@pytest.mark.parametrize('script, args', [
    ('benchmark_moe.py', ['--tokens', '64', '--channels', '8', '--hidden',
                          '4', '--routed', '6', '--repeat', '1']),
    ('benchmark_deform.py', ['--shape', '1', '4', '5', '6', '--repeat', '1']),
])
def test_benchmark_scripts_time_and_compare(script, args, capsys):
    """The project's benchmark scripts, as a user runs them (tiny): a time
    per variant and outputs that agree."""
    path = osp.join(TOOLS, script)
    with mock.patch.object(sys, 'argv', [path] + args):
        runpy.run_path(path, run_name='__main__')
    line = capsys.readouterr().out.splitlines()[-1]
    assert re.search(r'\d+\.\d ms.*\d+\.\d ms', line), line
    diffs = [float(d) for d in re.findall(r'(\d\.\d+e[-+]\d+)', line)]
    assert diffs and max(diffs) < 1e-5, line
