# Copyright (c) sak_mm contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from sak_mm.models import Adapter
from sak_mm.models.utils import evenly_spaced_levels
from sak_mm.registry import MODELS
from tests.conftest import tiny_stem


def test_evenly_spaced_levels():
    assert evenly_spaced_levels(24) == [5, 11, 17, 23]
    assert evenly_spaced_levels(12) == [2, 5, 8, 11]
    assert evenly_spaced_levels(32) == [7, 15, 23, 31]
    with pytest.raises(ValueError):
        evenly_spaced_levels(3)


def test_adapter_matches_eq3_by_hand():
    adapter = Adapter(4, down_ratio=2)
    with torch.no_grad():
        adapter.down.weight.copy_(torch.tensor([[1., 0, 0, 0], [0, 1, 0, 0]]))
        adapter.down.bias.zero_()
        adapter.up.weight.copy_(torch.tensor([[1., 0], [0, 1], [1, 1],
                                              [0, 0]]))
        adapter.up.bias.fill_(0.5)
        adapter.scale.fill_(2.0)
    x = torch.tensor([[1.0, -1.0, 2.0, 3.0]])
    g1, g2 = F.gelu(torch.tensor(1.0)), F.gelu(torch.tensor(-1.0))
    # R_out = alpha * (GELU(x W_down) W_up + b_up) + x
    expected = x + 2.0 * torch.tensor([[g1 + .5, g2 + .5, g1 + g2 + .5, .5]])
    torch.testing.assert_close(adapter(x), expected)
    assert Adapter(16).down.out_features == 4  # r = d / 4
    assert Adapter(16).scale.item() == 1.0


def build_backbone(**kwargs):
    cfg = dict(type='TSAPBackbone', stem=tiny_stem(),
               teachers=['dinov2', 'clip', 'sam'])
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_tsap_recurrence_eq2():
    """Recompute eq. (1)-(2) step by step from the stem's own parts."""
    bb = build_backbone()
    bb.eval()
    x = torch.randn(2, 3, 48, 64)
    out = bb(x)
    stem = bb.stem
    z, hw = bb._embed(x)
    r = bb.adapters['clip'][0](z)  # R_0 = a_0(Z_0)
    zs, rs = [], []
    for i, layer in enumerate(stem.layers):
        z = layer(z)
        r = bb.adapters['clip'][i + 1](r + z)  # R_l = a_l(R_(l-1) + Z_l)
        zs.append(z)
        rs.append(r)
    assert bb.out_indices == [0, 1, 2, 3]
    for level, idx in enumerate(bb.out_indices):
        tas = zs[idx][:, 1:].transpose(1, 2).reshape(2, 32, 3, 4)
        tsap = bb.out_norms['clip'][level](rs[idx][:, 1:])
        tsap = tsap.transpose(1, 2).reshape(2, 32, 3, 4)
        torch.testing.assert_close(out['tas'][level], tas)
        torch.testing.assert_close(out['tsap']['clip'][level], tsap)


def test_tsap_outputs_differ_per_teacher():
    bb = build_backbone()
    out = bb(torch.randn(1, 3, 48, 64))
    assert set(out['tsap']) == {'dinov2', 'clip', 'sam'}
    assert len(out['tas']) == 4
    for level in range(4):
        a, b = out['tsap']['dinov2'][level], out['tsap']['sam'][level]
        assert a.shape == (1, 32, 3, 4)
        assert not torch.allclose(a, b)
        assert not torch.allclose(a, out['tas'][level])


def test_plain_vit_without_teachers():
    bb = build_backbone(teachers=[])
    out = bb(torch.randn(1, 3, 48, 64))
    assert out['tsap'] == {} and len(out['tas']) == 4
    assert len(list(bb.adapters.parameters())) == 0


def test_aligners_map_to_teacher_width_and_drop_on_load():
    bb = build_backbone(aligner_dims=dict(dinov2=24))
    out = bb(torch.randn(1, 3, 48, 64))
    aligned = bb.align(out['tsap'])
    assert aligned['dinov2'][0].shape == (1, 24, 3, 4)
    assert aligned['clip'][0] is out['tsap']['clip'][0]
    # a stage-2 backbone without aligners loads the stage-1 weights strictly
    stage2 = build_backbone()
    stage2.load_state_dict(bb.state_dict(), strict=True)
    torch.testing.assert_close(stage2.adapters['sam'][3].up.weight,
                               bb.adapters['sam'][3].up.weight)
    with pytest.raises(KeyError, match='unknown teachers'):
        build_backbone(aligner_dims=dict(dino=24))


def test_stem_with_final_norm_is_rejected():
    with pytest.raises(ValueError, match='final_norm=False'):
        MODELS.build(dict(type='TSAPBackbone', stem=tiny_stem(final_norm=True),
                          teachers=['a']))


def test_adapter_params_are_small():
    bb = build_backbone(teachers=['a'])
    n_stem = sum(p.numel() for p in bb.stem.parameters())
    n_path = sum(p.numel() for p in bb.adapters['a'].parameters())
    # L+1 adapters of 2*d*d/4 weights: ~ (L+1) d^2 / 2 vs the stem's ~12 L d^2
    assert n_path < 0.1 * n_stem


def test_activation_checkpointing_keeps_less_and_changes_nothing():
    """Each form of ``with_cp`` gives the plain backbone's outputs and
    gradients bit for bit under bf16 autocast; 'selective' keeps less than
    nothing, whole blocks (True) less still; in evaluation nothing is
    checkpointed."""
    from tests.conftest import kept_bytes
    torch.manual_seed(0)
    plain = build_backbone()
    x = torch.randn(2, 3, 48, 64)

    def step(bb):
        params = list(bb.parameters())
        with torch.autocast('cpu', dtype=torch.bfloat16):
            kept, out = kept_bytes(bb, x, static=params)
        maps = out['tas'] + [m for ms in out['tsap'].values() for m in ms]
        loss = sum(m.float().square().sum() for m in maps)
        return kept, maps, torch.autograd.grad(loss, params)

    kept = {}
    ref = step(plain)
    for with_cp in ('selective', True):
        bb = build_backbone(with_cp=with_cp)
        bb.load_state_dict(plain.state_dict())
        kept[with_cp], maps, grads = step(bb)
        for a, b in zip(maps + list(grads), ref[1] + list(ref[2])):
            assert torch.equal(a, b)
    assert kept[True] < kept['selective'] < ref[0]
    bb.eval()
    calls = []
    bb.stem.layers[0].register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        bb(x)
    assert calls == [1]
