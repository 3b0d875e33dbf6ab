# Copyright (c) sak_mm contributors. All rights reserved.
"""One TSAP step for all N teachers in one kernel launch (paper eq. (2)-(3)).

.. code:: text

    x_i  = R_i + Z                      (x_i = Z for the first adapter)
    R'_i = x_i + s_i * (GELU(x_i W_d,i^T + b_d,i) W_u,i^T + b_u,i)

Shapes: ``Z (B, n, D)``, ``R (N, B, n, D)`` or None, ``W_d (N, r, D)``,
``b_d (N, r)``, ``W_u (N, D, r)``, ``b_u (N, D)``, ``s (N,)`` or ``(N, 1)``
-> ``R' (N, B, n, D)``. Weights use ``nn.Linear``'s ``(out, in)`` layout.

The Triton forward keeps the ``(rows, r)`` bottleneck in registers: it
reads ``Z`` and ``R`` and writes ``R'`` once; for the backward pass it also
writes ``x`` and the pre-activation in the GEMM dtype (what eager autocast
saves for its GEMMs, without eager's other intermediates). The backward
pass runs five batched GEMMs (one launch each for all teachers). Numerics follow eager PyTorch under autocast: the GEMMs run in
the autocast dtype (bf16) with fp32 accumulation, their outputs are rounded
to it, and the residual stream keeps its own dtype.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from ._triton import (DTYPE_CODE, HAS_TRITON, check_float, interpreting,
                      kernel_errors_named, matmul_dtype, triton,
                      triton_usable)

if HAS_TRITON:
    from ._triton import round_to, tl

    @triton.jit
    def _operand(x, GEMM: tl.constexpr, EMULATE: tl.constexpr):
        """``x`` as a ``tl.dot`` operand in the GEMM dtype (``DTYPE_CODE``).
        EMULATE keeps the rounded values in fp32 (multiplied in IEEE fp32:
        exactly the same products) for the interpreter, whose bf16
        ``tl.dot`` is wrong (triton 3.8)."""
        if EMULATE:
            y = round_to(x.to(tl.float32), GEMM)
        elif GEMM == 1:
            y = x.to(tl.bfloat16)
        elif GEMM == 2:
            y = x.to(tl.float16)
        else:
            y = x.to(tl.float32)
        return y

    @triton.jit
    def _mma(a, b, acc, IEEE: tl.constexpr):
        """``acc + a @ b`` for operands made by :func:`_operand`; IEEE
        (fp32 or emulated operands) never uses TF32."""
        if IEEE:
            out = tl.dot(a, b, acc, input_precision='ieee')
        else:
            out = tl.dot(a, b, acc)
        return out

    @triton.jit
    def _load_x(z_ptr, res_base, offs, mask, HAS_RES: tl.constexpr):
        """A tile of ``x = Z + R`` (``Z`` alone without a residual), fp32."""
        x = tl.load(z_ptr + offs, mask=mask, other=0.).to(tl.float32)
        if HAS_RES:
            x += tl.load(res_base + offs, mask=mask, other=0.).to(tl.float32)
        return x

    @triton.jit
    def _adapter_fwd_kernel(z_ptr, r_ptr, wd_ptr, bd_ptr, wu_ptr, bu_ptr,
                            s_ptr, out_ptr, x_ptr, h_ptr, M, D, R,
                            HAS_RES: tl.constexpr, SAVE: tl.constexpr,
                            GEMM: tl.constexpr, EMULATE: tl.constexpr,
                            IEEE: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_K: tl.constexpr,
                            BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr):
        pid_m = tl.program_id(0)
        t = tl.program_id(1)  # teacher
        rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        row_ok = rows < M
        rr = tl.arange(0, BLOCK_R)
        r_ok = rr < R
        res_base = r_ptr + t.to(tl.int64) * M * D
        out_base = out_ptr + t.to(tl.int64) * M * D
        x_base = x_ptr + t.to(tl.int64) * M * D

        # h = x W_d^T + b_d, x = z + R, accumulated over D in fp32
        acc = tl.zeros((BLOCK_M, BLOCK_R), dtype=tl.float32)
        for k0 in range(0, D, BLOCK_K):
            kk = k0 + tl.arange(0, BLOCK_K)
            k_ok = kk < D
            offs = rows[:, None].to(tl.int64) * D + kk[None, :]
            mask = row_ok[:, None] & k_ok[None, :]
            x = _load_x(z_ptr, res_base, offs, mask, HAS_RES)
            if SAVE:  # the GEMM input, as eager autocast saves it
                tl.store(x_base + offs,
                         x.to(x_ptr.dtype.element_ty), mask=mask)
            w = tl.load(
                wd_ptr + t * R * D + rr[None, :] * D + kk[:, None],
                mask=r_ok[None, :] & k_ok[:, None],
                other=0.)
            acc = _mma(
                _operand(x, GEMM, EMULATE), _operand(w, GEMM, EMULATE), acc,
                IEEE)
        bd = tl.load(bd_ptr + t * R + rr, mask=r_ok, other=0.)
        h = round_to(acc + bd.to(tl.float32)[None, :], GEMM)
        if SAVE:
            tl.store(
                h_ptr + t.to(tl.int64) * M * R + rows[:, None].to(tl.int64) *
                R + rr[None, :],
                h.to(h_ptr.dtype.element_ty),
                mask=row_ok[:, None] & r_ok[None, :])
        # exact (erf) GELU, rounded like eager's activation output
        a = _operand(0.5 * h * (1.0 + tl.erf(h * 0.7071067811865476)), GEMM,
                     EMULATE)
        s = tl.load(s_ptr + t).to(tl.float32)

        # R' = x + s * (a W_u^T + b_u), one BLOCK_N slice of D at a time
        for n0 in range(0, D, BLOCK_N):
            nn = n0 + tl.arange(0, BLOCK_N)
            n_ok = nn < D
            wu = tl.load(
                wu_ptr + t * D * R + nn[None, :] * R + rr[:, None],
                mask=n_ok[None, :] & r_ok[:, None],
                other=0.)
            u = _mma(a, _operand(wu, GEMM, EMULATE),
                     tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32), IEEE)
            bu = tl.load(bu_ptr + t * D + nn, mask=n_ok, other=0.)
            u = round_to(u + bu.to(tl.float32)[None, :], GEMM)
            offs = rows[:, None].to(tl.int64) * D + nn[None, :]
            mask = row_ok[:, None] & n_ok[None, :]
            x = _load_x(z_ptr, res_base, offs, mask, HAS_RES)
            tl.store(out_base + offs,
                     (x + s * u).to(out_ptr.dtype.element_ty),
                     mask=mask)


def _launch_config(m: int, d: int, r: int, gemm_dtype: torch.dtype) -> dict:
    """Tiles and warps: the whole bottleneck ``r`` per program (a power of
    two >= 16, for ``tl.dot``). Chosen from ptxas reports for sm_90 (no
    register spills at r = 256 and 128: ViT-L/B and ViT-S); not tuned by
    timing yet."""
    block_r = max(16, triton.next_power_of_2(r))
    if gemm_dtype == torch.float32 or block_r > 256:
        block_m, stages = 32, 2
    else:
        block_m, stages = 64, 3
    small = max(16, triton.next_power_of_2(d))  # tiny test widths
    return dict(
        BLOCK_M=min(block_m, max(16, triton.next_power_of_2(m))),
        BLOCK_K=min(32, small),
        BLOCK_R=block_r,
        BLOCK_N=min(64, small),
        num_warps=8,
        num_stages=stages)


def _launch(z: torch.Tensor, residual: Optional[torch.Tensor],
            wd: torch.Tensor, bd: torch.Tensor, wu: torch.Tensor,
            bu: torch.Tensor, scale: torch.Tensor, gemm_dtype: torch.dtype,
            save: bool) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the kernel: ``R'`` and, with ``save``, what the backward pass
    needs (``x`` and the pre-activation ``h`` in the GEMM dtype; empty
    tensors without it)."""
    # dense rows (torch.compile may hand an operator other layouts)
    z, wd, bd, wu, bu, scale = (
        t.contiguous() for t in (z, wd, bd, wu, bu, scale))
    residual = residual.contiguous() if residual is not None else None
    n_teachers, r, d = wd.shape
    m = z.numel() // d
    out = torch.empty(_out_shape(z, n_teachers),
                      dtype=_out_dtype(z, residual, scale, gemm_dtype),
                      device=z.device)
    x = h = out  # placeholders the kernel does not touch without SAVE
    if save:
        x = torch.empty((n_teachers, m, d), dtype=gemm_dtype, device=z.device)
        h = torch.empty((n_teachers, m, r), dtype=gemm_dtype, device=z.device)
    launch = _launch_config(m, d, r, gemm_dtype)
    grid = (triton.cdiv(m, launch['BLOCK_M']), n_teachers)
    # every row block reads all weights: cast them once (fp32 master
    # weights under autocast) rather than in every program
    wd, wu = wd.to(gemm_dtype), wu.to(gemm_dtype)
    emulate = interpreting() and gemm_dtype != torch.float32
    _adapter_fwd_kernel[grid](
        z, residual if residual is not None else z, wd, bd, wu, bu, scale,
        out, x, h, m, d, r,
        HAS_RES=residual is not None,
        SAVE=save,
        GEMM=DTYPE_CODE[gemm_dtype],
        EMULATE=emulate,
        IEEE=emulate or gemm_dtype == torch.float32,
        **launch)
    if not save:  # distinct empty outputs: an operator's outputs never alias
        x, h = (out.new_empty(0, dtype=gemm_dtype) for _ in range(2))
    return out, x, h


def _out_shape(z, n_teachers: int) -> tuple:
    return (n_teachers, ) + tuple(z.shape)


def _out_dtype(z, residual, scale, gemm_dtype) -> torch.dtype:
    """The residual stream's dtype, as eager type promotion gives it."""
    dtype = torch.promote_types(z.dtype, scale.dtype)
    dtype = torch.promote_types(dtype, gemm_dtype)
    if residual is not None:
        dtype = torch.promote_types(dtype, residual.dtype)
    return dtype


def _gelu_grad(h: torch.Tensor) -> torch.Tensor:
    """d GELU(h) / dh for the exact (erf) GELU, in fp32."""
    cdf = 0.5 * (1.0 + torch.erf(h * 0.7071067811865476))
    pdf = torch.exp(-0.5 * h * h) * 0.3989422804014327
    return cdf + h * pdf


def _setup_context(ctx, inputs, output):
    """Saves what eager autocast saves, minus the intermediate tensors: the
    GEMM input ``x`` and pre-activation ``h`` in the GEMM dtype (not the
    fp32 residual stream), and the weights as given, cast to the GEMM dtype
    again in backward."""
    z, residual, wd, bd, wu, bu, scale, gemm_dtype, save = inputs
    _, x, h = output
    ctx.mark_non_differentiable(x, h)
    if save:
        ctx.gemm_dtype = gemm_dtype
        ctx.input_meta = [(t.shape, t.dtype) if t is not None else None
                          for t in (z, residual, wd, bd, wu, bu, scale)]
        ctx.save_for_backward(x, h, wd, wu, bu, scale)


def _backward(ctx, grad_out, _grad_x, _grad_h):
    x, h, wd, wu, bu, scale = ctx.saved_tensors
    n_teachers, m, d = x.shape
    cd = ctx.gemm_dtype
    meta = ctx.input_meta
    with torch.autocast(x.device.type, enabled=False):
        wd, wu = wd.to(cd), wu.to(cd)
        g = grad_out.reshape(n_teachers, m, d).float()
        hf = h.float()
        a = F.gelu(hf).to(cd)
        s = scale.float().reshape(n_teachers, 1, 1)
        g_wu = torch.bmm(g.to(cd), wu).float()  # (N, m, r)
        col_g = g.sum(1)  # (N, d)
        d_scale = (g_wu * a.float()).sum((1, 2)) + \
            (col_g * bu.float()).sum(1)
        d_wu = torch.bmm(g.to(cd).transpose(1, 2), a).float() * s
        d_bu = col_g * s.reshape(n_teachers, 1)
        dh = g_wu * s * _gelu_grad(hf)
        d_bd = dh.sum(1)
        dh = dh.to(cd)
        d_wd = torch.bmm(dh.transpose(1, 2), x).float()
        dx = g + torch.bmm(dh, wd).float()

    def cast(value, index):
        shape, dtype = meta[index]
        return value.to(dtype).reshape(shape)

    needs = ctx.needs_input_grad
    return (cast(dx.sum(0), 0) if needs[0] else None,
            cast(dx, 1) if meta[1] is not None and needs[1] else None,
            cast(d_wd, 2), cast(d_bd, 3), cast(d_wu, 4), cast(d_bu, 5),
            cast(d_scale, 6), None, None)


if HAS_TRITON:
    # a registered operator: torch.compile keeps it as one opaque node
    # (its shapes from the fake implementation) instead of tracing the
    # launch code, so compiled and eager students run the same kernel
    _adapter_op = torch.library.custom_op(
        'sak_mm::multi_adapter', _launch, mutates_args=())

    @_adapter_op.register_fake
    def _(z, residual, wd, bd, wu, bu, scale, gemm_dtype, save):
        n_teachers, r, d = wd.shape
        m = z.numel() // d
        out = z.new_empty(_out_shape(z, n_teachers),
                          dtype=_out_dtype(z, residual, scale, gemm_dtype))
        if not save:
            return (out, *(z.new_empty(0, dtype=gemm_dtype)
                           for _ in range(2)))
        return out, z.new_empty((n_teachers, m, d), dtype=gemm_dtype), \
            z.new_empty((n_teachers, m, r), dtype=gemm_dtype)

    _adapter_op.register_autograd(_backward, setup_context=_setup_context)


def _check(z, residual, wd, bd, wu, bu, scale):
    if wd.dim() != 3:
        raise ValueError(f'down weights must be (N, r, D), got '
                         f'{tuple(wd.shape)}')
    n_teachers, r, d = wd.shape
    expected = dict(bd=(n_teachers, r), wu=(n_teachers, d, r),
                    bu=(n_teachers, d))
    for name, t in (('bd', bd), ('wu', wu), ('bu', bu)):
        if tuple(t.shape) != expected[name]:
            raise ValueError(f'{name} must have shape {expected[name]}, got '
                             f'{tuple(t.shape)}')
    if scale.numel() != n_teachers:
        raise ValueError(f'scale needs one value per teacher ({n_teachers}), '
                         f'got shape {tuple(scale.shape)}')
    if z.shape[-1] != d:
        raise ValueError(f'z has width {z.shape[-1]}, the adapters {d}')
    if residual is not None and tuple(residual.shape) != (n_teachers, ) + \
            tuple(z.shape):
        raise ValueError(f'residual must have shape (N, *z.shape) = '
                         f'{(n_teachers, ) + tuple(z.shape)}, got '
                         f'{tuple(residual.shape)}')
    for name, t in (('z', z), ('residual', residual), ('down weight', wd)):
        if t is not None:
            check_float(name, t)


def multi_adapter_reference(z: torch.Tensor, residual: Optional[torch.Tensor],
                            wd: torch.Tensor, bd: torch.Tensor,
                            wu: torch.Tensor, bu: torch.Tensor,
                            scale: torch.Tensor) -> torch.Tensor:
    """Eager PyTorch, op for op what :class:`~sak_mm.models.backbones.tsap.
    Adapter` computes, for every teacher."""
    _check(z, residual, wd, bd, wu, bu, scale)
    outs = []
    for i in range(wd.shape[0]):
        x = z if residual is None else residual[i] + z
        up = F.linear(F.gelu(F.linear(x, wd[i], bd[i])), wu[i], bu[i])
        outs.append(x + scale.reshape(-1)[i:i + 1] * up)
    return torch.stack(outs)


def multi_adapter_triton(z: torch.Tensor, residual: Optional[torch.Tensor],
                         wd: torch.Tensor, bd: torch.Tensor, wu: torch.Tensor,
                         bu: torch.Tensor,
                         scale: torch.Tensor) -> torch.Tensor:
    """The fused Triton kernel (differentiable); see the module docstring."""
    if not HAS_TRITON:
        raise RuntimeError('multi_adapter_triton needs triton installed')
    _check(z, residual, wd, bd, wu, bu, scale)
    tensors = (z, residual, wd, bd, wu, bu, scale)
    save = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors)
    with kernel_errors_named('sak_mm::multi_adapter', z.device):
        out, _, _ = _adapter_op(*tensors, matmul_dtype(z, wd), save)
    return out


def multi_adapter(z: torch.Tensor, residual: Optional[torch.Tensor],
                  wd: torch.Tensor, bd: torch.Tensor, wu: torch.Tensor,
                  bu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The Triton kernel where it can run (CUDA, or the interpreter), the
    reference otherwise."""
    tensors = [z, wd, bd, wu, bu, scale]
    if residual is not None:
        tensors.append(residual)
    if triton_usable(*tensors):
        return multi_adapter_triton(z, residual, wd, bd, wu, bu, scale)
    return multi_adapter_reference(z, residual, wd, bd, wu, bu, scale)

