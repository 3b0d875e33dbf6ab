# Copyright (c) sak_mm contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from sak_mm.models import MoRNeck, MoRRouter
from sak_mm.registry import MODELS


def maps(seed, b=2, c=8, h=3, w=4, levels=4):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, h, w, generator=g) for _ in range(levels)]


def test_router_is_mlp_then_token_mean_then_softmax():
    router = MoRRouter(8, num_experts=3, noisy_gating=True).eval()
    tokens = torch.randn(2, 12, 8)
    logits = router.mlp(tokens).mean(dim=1)  # per-token MLP, then mean
    clean = logits[:, :3]
    torch.testing.assert_close(router(tokens), clean.softmax(-1))
    # the mean is taken after the MLP, not before
    assert not torch.allclose(router.mlp(tokens.mean(1))[:, :3].softmax(-1),
                              router(tokens))
    assert router.mlp[0].out_features == 4  # d / 2
    assert isinstance(router.mlp[1], torch.nn.LayerNorm)
    assert router.mlp[3].out_features == 6  # 2 (N + 1)


@pytest.mark.parametrize('noise', ['pixel', 'image'])
def test_noisy_gating_on_in_train_off_in_eval(noise):
    """Training adds N(0, 1) * (softplus(e) + 0.01) to the clean logits,
    drawn per token (the reference, the default) or per image; evaluation
    uses the clean per-image logits."""
    router = MoRRouter(8, num_experts=3, noise=noise)
    with torch.no_grad():  # large noise logits -> visible noise
        router.mlp[3].bias[3:] = 5.0
    tokens = torch.randn(2, 12, 8)
    router.train()
    a, b = router(tokens), router(tokens)
    assert not torch.allclose(a, b)
    torch.manual_seed(3)
    got = router(tokens)
    torch.manual_seed(3)
    logits = router.mlp(tokens).mean(1)
    clean, noise_logits = logits[:, :3], logits[:, 3:]
    std = F.softplus(noise_logits) + 0.01
    if noise == 'pixel':
        assert got.shape == (2, 3, 12)
        eps = torch.randn(2, 3, 12)
        expected = (clean[..., None] + eps * std[..., None]).softmax(1)
        assert not torch.allclose(got[..., 0], got[..., 1])  # per pixel
    else:
        eps = torch.randn_like(clean)
        expected = (clean + eps * std).softmax(-1)
    torch.testing.assert_close(got, expected)
    router.eval()
    torch.testing.assert_close(router(tokens), router(tokens))
    torch.testing.assert_close(router(tokens), clean.softmax(-1))
    with pytest.raises(ValueError, match="'pixel' or 'image'"):
        MoRRouter(8, num_experts=3, noise='token')


@pytest.mark.parametrize('fused', [False, True])
def test_per_pixel_training_gates_mix_each_pixel_with_its_own_gate(fused):
    """In training the mixture at a pixel uses that pixel's gates, in the
    eager and the fused mixing alike; the returned gates are their means
    over the pixels."""
    if fused:
        ops = pytest.importorskip('sak_mm.ops')
        if not ops.HAS_TRITON:
            pytest.skip('triton is not installed')
    neck_type = 'FusedMoRNeck' if fused else 'MoRNeck'
    neck = MODELS.build(dict(type=neck_type, tasks=['semseg', 'depth'],
                             teachers=['dino'], in_channels=8)).train()
    tas, tsap = maps(0), {'dino': maps(1)}
    torch.manual_seed(5)
    feats, gates = neck(tas, tsap)
    torch.manual_seed(5)
    for level in range(4):
        tokens = tas[level].flatten(2).transpose(1, 2)
        per_task = [neck.routers[f'{task}_{level}'](tokens)
                    for task in ('semseg', 'depth')]
        for task, g in zip(('semseg', 'depth'), per_task):
            g = g.reshape(2, 2, 1, 3, 4)
            expected = g[:, 0] * tas[level] + g[:, 1] * tsap['dino'][level]
            torch.testing.assert_close(feats[task][level], expected,
                                       rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(gates[task][:, level],
                                       g.flatten(2).mean(-1))


def test_mor_mixes_experts_with_gate_scores():
    neck = MoRNeck(['semseg', 'depth'], ['dino', 'sam'], in_channels=8).eval()
    tas = maps(0)
    tsap = {'dino': maps(1), 'sam': maps(2)}
    feats, gates = neck(tas, tsap)
    assert gates['semseg'].shape == (2, 4, 3)
    torch.testing.assert_close(gates['depth'].sum(-1), torch.ones(2, 4))
    for task in ('semseg', 'depth'):
        for level in range(4):
            g = gates[task][:, level]
            expected = (g[:, 0, None, None, None] * tas[level] +
                        g[:, 1, None, None, None] * tsap['dino'][level] +
                        g[:, 2, None, None, None] * tsap['sam'][level])
            torch.testing.assert_close(feats[task][level], expected)
    # tasks have their own routers
    assert not torch.allclose(gates['semseg'], gates['depth'])


def test_gate_scores_follow_router_output():
    neck = MoRNeck(['semseg'], ['dino'], in_channels=8).eval()
    with torch.no_grad():  # router prefers the teacher strongly
        neck.routers['semseg_2'].mlp[3].bias[:2] = torch.tensor([-9., 9.])
    tas, tsap = maps(0), {'dino': maps(1)}
    feats, gates = neck(tas, tsap)
    assert gates['semseg'][:, 2, 1].min() > 0.99
    torch.testing.assert_close(feats['semseg'][2], tsap['dino'][2],
                               atol=0.05, rtol=0)


def test_sum_mode_is_plain_sum_without_routers():
    neck = MoRNeck(['semseg', 'edge'], ['a', 'b'], in_channels=8, mode='sum')
    assert len(list(neck.parameters())) == 0
    tas, tsap = maps(0), {'a': maps(1), 'b': maps(2)}
    feats, gates = neck(tas, tsap)
    assert gates is None
    torch.testing.assert_close(feats['edge'][1],
                               tas[1] + tsap['a'][1] + tsap['b'][1])
    with pytest.raises(ValueError, match="'mor' or 'sum'"):
        MoRNeck(['semseg'], ['a'], in_channels=8, mode='avg')
    with pytest.raises(KeyError, match='expects TSAP maps'):
        neck(tas, {'a': maps(1)})
