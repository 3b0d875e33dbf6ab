# Copyright (c) sak_mm contributors. All rights reserved.
"""Every task's Mixture-of-Representations sum in one pass (paper eq. (4)).

.. code:: text

    F_t[b] = g[b, t, 0] * TAS[b] + sum_i g[b, t, i] * TSAP_i[b]

Shapes: ``TAS (B, P, D)`` (token layout; rows may be a strided view such as
``z[:, 1:]``), ``TSAP (N, B, P, D)``, gates ``g (B, T, N+1)`` (one per image)
or ``(B, T, N+1, P)`` (one per pixel, the MoR routers' noisy training
gates) -> ``F (T, B, P, D)``.

Eager PyTorch stacks the experts, then multiplies and sums once per task
(about ``2E + T (2E + 1)`` map-sized passes for E experts); the kernel reads
each expert once and writes each task once (``E + T``). Its backward pass is
one more kernel that reads the task gradients and experts once, writes the
expert gradients and per-block partial sums of the gate gradients (summed
deterministically afterwards, no atomics; per-pixel gate gradients, a sum
over each pixel's channels, are one batched product outside the kernel).
Accumulation is in fp32; the gates are rounded to the experts' dtype first,
as eager's ``g.to(dtype)``.
"""
from typing import Tuple

import torch

from ._triton import (DTYPE_CODE, HAS_TRITON, check_float,
                      kernel_errors_named, triton, triton_usable)

if HAS_TRITON:
    from ._triton import round_to, tl

    @triton.jit
    def _gate(g_ptr, b, tt, t_ok, e, T, E, i, ok, P, D,
              PER_PIXEL: tl.constexpr, ROUND: tl.constexpr):
        """Gates ``g[b, :, e]`` (``g[b, :, e, i // D]`` per pixel) as a
        ``(T_PAD, 1 or BLOCK)`` fp32 tile, rounded to the experts' dtype."""
        if PER_PIXEL:
            offs = ((b * T + tt[:, None]) * E + e).to(tl.int64) * P + \
                (i // D)[None, :]
            g = tl.load(g_ptr + offs, mask=t_ok[:, None] & ok[None, :],
                        other=0.)
        else:
            g = tl.load(g_ptr + b * T * E + tt * E + e, mask=t_ok,
                        other=0.)[:, None]
        return round_to(g.to(tl.float32), ROUND)

    @triton.jit
    def _mor_mix_fwd_kernel(tas_ptr, tsap_ptr, g_ptr, out_ptr, B, P, D, PD,
                            tas_stride_b, T, E: tl.constexpr,
                            BLOCK: tl.constexpr, T_PAD: tl.constexpr,
                            PER_PIXEL: tl.constexpr, ROUND: tl.constexpr):
        b = tl.program_id(0)
        i = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        ok = i < PD
        tt = tl.arange(0, T_PAD)
        t_ok = tt < T
        acc = tl.zeros((T_PAD, BLOCK), dtype=tl.float32)
        for e in tl.static_range(E):
            if e == 0:
                x = tl.load(tas_ptr + b.to(tl.int64) * tas_stride_b + i,
                            mask=ok, other=0.)
            else:
                x = tl.load(
                    tsap_ptr + ((e - 1) * B + b).to(tl.int64) * PD + i,
                    mask=ok, other=0.)
            g = _gate(g_ptr, b, tt, t_ok, e, T, E, i, ok, P, D, PER_PIXEL,
                      ROUND)
            acc += g * x.to(tl.float32)[None, :]
        offs = (tt[:, None] * B + b).to(tl.int64) * PD + i[None, :]
        tl.store(out_ptr + offs, acc.to(out_ptr.dtype.element_ty),
                 mask=t_ok[:, None] & ok[None, :])

    @triton.jit
    def _mor_mix_bwd_kernel(tas_ptr, tsap_ptr, g_ptr, dout_ptr, dtas_ptr,
                            dtsap_ptr, dg_part_ptr, B, P, D, PD,
                            tas_stride_b, T, E: tl.constexpr,
                            BLOCK: tl.constexpr, T_PAD: tl.constexpr,
                            PER_PIXEL: tl.constexpr, ROUND: tl.constexpr):
        b = tl.program_id(0)
        blk = tl.program_id(1)
        n_blk = tl.num_programs(1)
        i = blk * BLOCK + tl.arange(0, BLOCK)
        ok = i < PD
        tt = tl.arange(0, T_PAD)
        t_ok = tt < T
        offs = (tt[:, None] * B + b).to(tl.int64) * PD + i[None, :]
        dout = tl.load(dout_ptr + offs, mask=t_ok[:, None] & ok[None, :],
                       other=0.).to(tl.float32)
        part_base = dg_part_ptr + ((b * n_blk + blk) * T_PAD + tt) * E
        for e in tl.static_range(E):
            g = _gate(g_ptr, b, tt, t_ok, e, T, E, i, ok, P, D, PER_PIXEL,
                      ROUND)
            dx = tl.sum(g * dout, axis=0)
            if e == 0:
                x = tl.load(tas_ptr + b.to(tl.int64) * tas_stride_b + i,
                            mask=ok, other=0.)
                tl.store(dtas_ptr + b.to(tl.int64) * PD + i,
                         dx.to(dtas_ptr.dtype.element_ty), mask=ok)
            else:
                base = ((e - 1) * B + b).to(tl.int64) * PD
                x = tl.load(tsap_ptr + base + i, mask=ok, other=0.)
                tl.store(dtsap_ptr + base + i,
                         dx.to(dtsap_ptr.dtype.element_ty), mask=ok)
            if not PER_PIXEL:
                dg = tl.sum(dout * x.to(tl.float32)[None, :], axis=1)
                tl.store(part_base + e, dg)


def _launch_config(pd: int, num_tasks: int) -> dict:
    t_pad = max(1, triton.next_power_of_2(num_tasks))
    block = min(1024 if t_pad <= 4 else 512,
                max(16, triton.next_power_of_2(pd)))
    return dict(BLOCK=block, T_PAD=t_pad, num_warps=4)


def _dense(tas: torch.Tensor, tsap: torch.Tensor, gates: torch.Tensor):
    """The layouts the kernels read: TSAP and gates contiguous, TAS with
    each sample's ``(P, D)`` block contiguous (any batch stride, e.g.
    ``z[:, 1:]``, so the neck's token view needs no copy). A no-op for
    what the neck passes; torch.compile may hand an operator other
    layouts."""
    d = tas.shape[-1]
    if tas.stride(-1) != 1 or tas.stride(-2) != d:
        tas = tas.contiguous()
    return tas, tsap.contiguous(), gates.contiguous()


def _mix_forward(tas: torch.Tensor, tsap: torch.Tensor,
                 gates: torch.Tensor) -> torch.Tensor:
    tas, tsap, gates = _dense(tas, tsap, gates)
    n, b, p, d = tsap.shape
    num_tasks, num_experts = gates.shape[1], gates.shape[2]
    pd = p * d
    out = torch.empty((num_tasks, b, p, d), dtype=tsap.dtype,
                      device=tsap.device)
    cfg = _launch_config(pd, num_tasks)
    grid = (b, triton.cdiv(pd, cfg['BLOCK']))
    _mor_mix_fwd_kernel[grid](
        tas, tsap, gates, out, b, p, d, pd, tas.stride(0), num_tasks,
        E=num_experts, PER_PIXEL=gates.dim() == 4,
        ROUND=DTYPE_CODE[tsap.dtype], **cfg)
    return out


def _mix_backward(
        tas: torch.Tensor, tsap: torch.Tensor, gates: torch.Tensor,
        grad_out: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of TAS, TSAP and the gates."""
    tas, tsap, gates = _dense(tas, tsap, gates)
    n, b, p, d = tsap.shape
    num_tasks, num_experts = gates.shape[1], gates.shape[2]
    per_pixel = gates.dim() == 4
    pd = p * d
    grad_out = grad_out.contiguous()
    cfg = _launch_config(pd, num_tasks)
    n_blk = triton.cdiv(pd, cfg['BLOCK'])
    d_tas = torch.empty((b, p, d), dtype=tas.dtype, device=tas.device)
    d_tsap = torch.empty_like(tsap)
    parts = torch.empty((b, n_blk, cfg['T_PAD'], num_experts),
                        dtype=torch.float32, device=tsap.device)
    _mor_mix_bwd_kernel[(b, n_blk)](
        tas, tsap, gates, grad_out, d_tas, d_tsap, parts, b, p, d, pd,
        tas.stride(0), num_tasks,
        E=num_experts, PER_PIXEL=per_pixel, ROUND=DTYPE_CODE[tsap.dtype],
        **cfg)
    if per_pixel:  # each pixel's sum over its channels, in fp32
        grad = grad_out.float()
        d_gates = torch.cat([
            torch.einsum('tbpd,bpd->btp', grad, tas.float())[:, :, None],
            torch.einsum('tbpd,ebpd->btep', grad, tsap.float())
        ], dim=2)
    else:
        d_gates = parts.sum(1)[:, :num_tasks]
    return d_tas, d_tsap, d_gates.to(gates.dtype).contiguous()


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad_out):
    with kernel_errors_named('sak_mm::mor_mix_backward', grad_out.device):
        return _mix_backward_op(*ctx.saved_tensors, grad_out)


if HAS_TRITON:
    # registered operators: torch.compile keeps each as one opaque node
    # (shapes from the fake implementations) instead of tracing the launch
    # code, so compiled and eager necks run the same kernels
    _mix_op = torch.library.custom_op(
        'sak_mm::mor_mix', _mix_forward, mutates_args=())
    _mix_backward_op = torch.library.custom_op(
        'sak_mm::mor_mix_backward', _mix_backward, mutates_args=())

    @_mix_op.register_fake
    def _(tas, tsap, gates):
        return tsap.new_empty((gates.shape[1], ) + tuple(tsap.shape[1:]))

    @_mix_backward_op.register_fake
    def _(tas, tsap, gates, grad_out):
        return (tsap.new_empty(tsap.shape[1:]), tsap.new_empty(tsap.shape),
                gates.new_empty(gates.shape))

    _mix_op.register_autograd(_backward, setup_context=_setup_context)


def _check(tas, tsap, gates):
    if tsap.dim() != 4 or tas.dim() != 3:
        raise ValueError(f'mor_mix expects TAS (B, P, D) and TSAP '
                         f'(N, B, P, D), got {tuple(tas.shape)} and '
                         f'{tuple(tsap.shape)}')
    if tuple(tas.shape) != tuple(tsap.shape[1:]):
        raise ValueError(f'TAS {tuple(tas.shape)} and TSAP maps '
                         f'{tuple(tsap.shape[1:])} differ in shape')
    b, p = tas.shape[:2]
    experts = tsap.shape[0] + 1
    tasks = gates.shape[1] if gates.dim() > 1 else -1
    if tuple(gates.shape) not in ((b, tasks, experts),
                                  (b, tasks, experts, p)):
        raise ValueError(f'gates must be (B, T, N+1) = (B, T, {experts}) or, '
                         f'per pixel, (B, T, N+1, P) = (B, T, {experts}, '
                         f'{p}), got {tuple(gates.shape)}')
    if tas.dtype != tsap.dtype:
        raise TypeError(f'TAS ({tas.dtype}) and TSAP ({tsap.dtype}) maps '
                        f'must share a dtype')
    check_float('TSAP', tsap)


def mor_mix_reference(tas: torch.Tensor, tsap: torch.Tensor,
                      gates: torch.Tensor) -> torch.Tensor:
    """Eager PyTorch, as :class:`~sak_mm.models.necks.MoRNeck` computes it
    task by task."""
    _check(tas, tsap, gates)
    experts = torch.cat([tas[None], tsap])  # (E, B, P, D)
    g = gates.to(experts.dtype)
    # (B, T, E[, P]) -> per task (E, B, 1 or P, 1)
    g = g.permute(1, 2, 0, *range(3, g.dim())).unsqueeze(-1)
    if gates.dim() == 3:
        g = g.unsqueeze(-1)
    return torch.stack([(experts * g[t]).sum(dim=0)
                        for t in range(gates.shape[1])])


def mor_mix_triton(tas: torch.Tensor, tsap: torch.Tensor,
                   gates: torch.Tensor) -> torch.Tensor:
    """The fused Triton kernels (differentiable); see the module
    docstring."""
    if not HAS_TRITON:
        raise RuntimeError('mor_mix_triton needs triton installed')
    _check(tas, tsap, gates)
    with kernel_errors_named('sak_mm::mor_mix', tas.device):
        return _mix_op(tas, tsap, gates)


def mor_mix(tas: torch.Tensor, tsap: torch.Tensor,
            gates: torch.Tensor) -> torch.Tensor:
    """The Triton kernels where they can run (CUDA, or the interpreter),
    the reference otherwise."""
    if triton_usable(tas, tsap, gates):
        return mor_mix_triton(tas, tsap, gates)
    return mor_mix_reference(tas, tsap, gates)

