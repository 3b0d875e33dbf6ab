# Copyright (c) sak_mm contributors. All rights reserved.
"""Fused kernels against their eager references, forward and backward.

The same tests run on a GPU (compiled kernels, CUDA tensors) and on a CPU
(Triton's interpreter, set by conftest). Tolerances, relative to the largest
magnitude of the reference tensor: fp32 1e-5 (the kernels multiply in IEEE
fp32, never TF32); bf16 3e-2 (both sides round GEMM operands and outputs to
bf16 with fp32 accumulation, in different orders: a few bf16 ulps).
"""
import pytest
import torch

from sak_mm import ops

pytestmark = pytest.mark.skipif(
    not ops.HAS_TRITON, reason='triton is not installed')
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'
TOL = {torch.float32: 1e-5, torch.bfloat16: 3e-2}


def assert_close_rel(actual, expected, tol, what=''):
    scale = expected.detach().abs().max().clamp_min(1e-6)
    err = (actual.detach().float() - expected.detach().float()).abs().max()
    assert err <= tol * scale, f'{what}: max |diff| {err:.3g} > ' \
        f'{tol} x {scale:.3g}'


def adapter_inputs(n=3, b=2, tokens=7, d=48, r=12, dtype=torch.float32,
                   with_residual=True, seed=0):
    """Non-power-of-two widths and a row count that does not fill a block."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, std=1.0):
        return (torch.randn(*shape, generator=g) * std).to(
            DEVICE, dtype).requires_grad_()

    return dict(
        z=rand(b, tokens, d),
        residual=rand(n, b, tokens, d) if with_residual else None,
        wd=rand(n, r, d, std=d**-0.5),
        bd=rand(n, r, std=0.1),
        wu=rand(n, d, r, std=r**-0.5),
        bu=rand(n, d, std=0.1),
        scale=rand(n, 1))


def run_both(fn_ref, fn_tri, inputs, autocast_dtype=None):
    """Outputs and input gradients of both implementations for one random
    upstream gradient."""
    leaves = [v for v in inputs.values() if v is not None]
    results = []
    for fn in (fn_ref, fn_tri):
        with torch.autocast(DEVICE, dtype=autocast_dtype or torch.float32,
                            enabled=autocast_dtype is not None):
            out = fn(**inputs)
        grad_out = torch.randn(
            out.shape, generator=torch.Generator().manual_seed(1)).to(out)
        grads = torch.autograd.grad(out, leaves, grad_out)
        results.append((out, grads))
    return results


@pytest.mark.parametrize('with_residual', [True, False])
def test_multi_adapter_fp32(with_residual):
    inputs = adapter_inputs(with_residual=with_residual)
    (ref, g_ref), (tri, g_tri) = run_both(ops.multi_adapter_reference,
                                          ops.multi_adapter_triton, inputs)
    assert tri.shape == (3, 2, 7, 48) and tri.dtype == torch.float32
    assert_close_rel(tri, ref, TOL[torch.float32], 'forward')
    names = [k for k, v in inputs.items() if v is not None]
    for name, a, e in zip(names, g_tri, g_ref):
        assert_close_rel(a, e, TOL[torch.float32], f'grad {name}')


def test_multi_adapter_bf16_autocast():
    """fp32 residual stream and weights, GEMMs in bf16 (the AMP setting)."""
    inputs = adapter_inputs(d=64, r=16)
    (ref, g_ref), (tri, g_tri) = run_both(
        ops.multi_adapter_reference, ops.multi_adapter_triton, inputs,
        autocast_dtype=torch.bfloat16)
    assert ref.dtype == tri.dtype == torch.float32
    assert_close_rel(tri, ref, TOL[torch.bfloat16], 'forward')
    for name, a, e in zip(inputs, g_tri, g_ref):
        assert a.dtype == inputs[name].dtype
        assert_close_rel(a, e, TOL[torch.bfloat16], f'grad {name}')


def test_multi_adapter_pure_bf16():
    inputs = adapter_inputs(dtype=torch.bfloat16)
    (ref, g_ref), (tri, g_tri) = run_both(ops.multi_adapter_reference,
                                          ops.multi_adapter_triton, inputs)
    assert tri.dtype == torch.bfloat16
    assert_close_rel(tri, ref, TOL[torch.bfloat16], 'forward')
    for name, a, e in zip(inputs, g_tri, g_ref):
        assert_close_rel(a, e, TOL[torch.bfloat16], f'grad {name}')


def test_multi_adapter_rejects_bad_shapes():
    inputs = adapter_inputs()
    inputs['bu'] = inputs['bu'][:, :-1]
    with pytest.raises(ValueError, match=r'bu must have shape \(3, 48\)'):
        ops.multi_adapter_triton(**inputs)
    inputs = adapter_inputs()
    inputs['residual'] = inputs['residual'][:2]
    with pytest.raises(ValueError, match='residual must have shape'):
        ops.multi_adapter(**inputs)


def mix_inputs(n=3, b=2, tokens=10, d=24, tasks=5, dtype=torch.float32,
               per_pixel=False):
    g = torch.Generator().manual_seed(0)
    # TAS as the backbone hands it over: a strided view without the cls token
    tas_full = torch.randn(b, tokens + 1, d, generator=g).to(
        DEVICE, dtype).requires_grad_()
    # one gate per image, or per pixel (the routers' noisy training gates)
    shape = (b, tasks, n + 1) + ((tokens, ) if per_pixel else ())
    return dict(
        tas=tas_full[:, 1:],
        tsap=torch.randn(n, b, tokens, d, generator=g).to(
            DEVICE, dtype).requires_grad_(),
        gates=torch.randn(shape, generator=g).softmax(2).to(
            DEVICE).requires_grad_()), tas_full


@pytest.mark.parametrize('per_pixel', [False, True])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_mor_mix(dtype, per_pixel):
    inputs, tas_full = mix_inputs(dtype=dtype, per_pixel=per_pixel)
    outs = []
    for fn in (ops.mor_mix_reference, ops.mor_mix_triton):
        out = fn(**inputs)
        grad_out = torch.randn(
            out.shape, generator=torch.Generator().manual_seed(1)).to(out)
        outs.append((out, torch.autograd.grad(
            out, [tas_full, inputs['tsap'], inputs['gates']], grad_out)))
    (ref, g_ref), (tri, g_tri) = outs
    assert tri.shape == (5, 2, 10, 24) and tri.dtype == dtype
    assert_close_rel(tri, ref, TOL[dtype], 'forward')
    for name, a, e in zip(['tas', 'tsap', 'gates'], g_tri, g_ref):
        assert a.dtype == e.dtype
        assert_close_rel(a, e, TOL[dtype], f'grad {name}')
    # the class-token row of the TAS view receives no gradient
    assert g_tri[0][:, 0].abs().max() == 0


@pytest.mark.parametrize('per_pixel', [False, True])
def test_mor_mix_is_the_gate_weighted_sum(per_pixel):
    inputs, _ = mix_inputs(tasks=2, per_pixel=per_pixel)
    out = ops.mor_mix_triton(**inputs)
    tas, tsap, gates = inputs['tas'], inputs['tsap'], inputs['gates']
    if not per_pixel:
        gates = gates[..., None].expand(-1, -1, -1, tas.shape[1])
    for t in range(2):
        expected = gates[:, t, 0, :, None] * tas + sum(
            gates[:, t, i + 1, :, None] * tsap[i] for i in range(3))
        torch.testing.assert_close(out[t], expected)


def test_mor_mix_rejects_mismatched_gates():
    inputs, _ = mix_inputs()
    inputs['gates'] = inputs['gates'][..., :-1]
    with pytest.raises(ValueError, match=r'gates must be \(B, T, N\+1\)'):
        ops.mor_mix(**inputs)
    inputs, _ = mix_inputs(per_pixel=True)
    inputs['gates'] = inputs['gates'][..., :-1]  # a pixel short
    with pytest.raises(ValueError, match=r'per pixel, \(B, T, N\+1, P\)'):
        ops.mor_mix(**inputs)


def test_dispatch_uses_the_reference_where_triton_cannot_run(monkeypatch):
    """CPU tensors without the interpreter take the eager reference; the
    kernel is never called."""
    import importlib
    adapter = importlib.import_module('sak_mm.ops.adapter')
    mix = importlib.import_module('sak_mm.ops.mor_mix')

    def no_kernel(*args):
        raise AssertionError('the Triton path was taken')

    monkeypatch.setenv('TRITON_INTERPRET', '0')
    monkeypatch.setattr(adapter, 'multi_adapter_triton', no_kernel)
    monkeypatch.setattr(mix, 'mor_mix_triton', no_kernel)
    inputs = {k: v.detach().cpu() if v is not None else None
              for k, v in adapter_inputs().items()}
    torch.testing.assert_close(ops.multi_adapter(**inputs),
                               ops.multi_adapter_reference(**inputs))
    mixing, _ = mix_inputs()
    mixing = {k: v.detach().cpu() for k, v in mixing.items()}
    torch.testing.assert_close(ops.mor_mix(**mixing),
                               ops.mor_mix_reference(**mixing))
    assert not ops.triton_usable(torch.zeros(1))
    if torch.cuda.is_available():
        assert ops.triton_usable(torch.zeros(1).cuda())


def test_kernels_compile_for_an_h100_without_spills():
    """The GPU code path, checked without a GPU: triton compiles every
    launch configuration for sm_90 and ptxas reports no register spills,
    shared memory within the limit and tensor-core MMAs for bf16."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    env = dict(os.environ, TRITON_INTERPRET='0')
    out = subprocess.run(
        [sys.executable, 'tools/benchmarks/kernel_report.py', '--arch', '90'],
        cwd=root, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    assert len(rows) == 24  # mor_mix with per-image and per-pixel gates
    for row in rows:
        name, spill = ' '.join(row[:-4]), int(row[-3])
        assert spill == 0 and 'limit' not in ' '.join(row), row
        if name.startswith('adapter') and 'bf16' in name:
            assert row[-1] == 'yes', row
