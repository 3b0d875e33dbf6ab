# Copyright (c) sak_mm contributors. All rights reserved.
"""Fused kernels of ``sak_mm.ops`` against the eager PyTorch they replace
and against ``torch.compile`` of that eager code, at a real model's shapes.

    python tools/benchmarks/benchmark_ops.py                 # ViT-L, NYUD 448x576, batch 8
    python tools/benchmarks/benchmark_ops.py --batch 2 --dims 768 --tokens 1009

For each op, precision (bf16 autocast = AMP training, fp32) and pass
(forward under no_grad; forward + backward) it prints the median time of
each implementation, the speed-ups of the fused kernel and the largest
difference to eager, relative to the largest eager value; twice on a GPU:
called one call at a time (``triton.testing.do_bench``: what a step pays
when the host cannot run ahead, launch overhead included), and replayed
from a CUDA graph (``do_bench_cudagraph``: the device's time alone, what a
GPU-bound step or a CUDA-graph predict pays). Meant for a CUDA GPU;
``--device cpu`` with ``TRITON_INTERPRET=1`` runs the same code on tiny
shapes (a smoke test, not a measurement).

* adapter: one TSAP block step for every teacher, ``R_i <- a_i(R_i + Z)``.
  Eager = the backbone's eager path (one ``Adapter`` module per teacher).
* mor_mix: one level's MoR mixtures for every task. Eager = the neck's
  eager path (stack the experts, weighted sum per task).
"""
import argparse
import statistics
import time

import torch

from sak_mm import ops
from sak_mm.models.backbones.tsap import Adapter


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--tokens', type=int, default=1 + 28 * 36,
                        help='tokens per image incl. the class token '
                        '(default: 448x576 / 16 + 1)')
    parser.add_argument('--dims', type=int, default=1024)
    parser.add_argument('--teachers', type=int, default=3)
    parser.add_argument('--tasks', type=int, default=4)
    parser.add_argument('--precision', nargs='+', default=['bf16', 'fp32'],
                        choices=['bf16', 'fp32'])
    parser.add_argument('--compile-backend', default='inductor')
    parser.add_argument('--device', default='cuda')
    return parser.parse_args()


def adapter_case(args):
    """(eager fn, fused fn, inputs) for one block of TSAP steps."""
    n, d = args.teachers, args.dims
    adapters = torch.nn.ModuleList(Adapter(d)
                                   for _ in range(n)).to(args.device)
    for p in adapters.parameters():
        torch.nn.init.normal_(p, std=d**-0.5)
    z = torch.randn(args.batch, args.tokens, d, device=args.device)
    residual = torch.randn(n, args.batch, args.tokens, d, device=args.device)

    def eager(z, residual):
        return [a(residual[i] + z) for i, a in enumerate(adapters)]

    def fused(z, residual):
        params = (torch.stack([a.down.weight for a in adapters]),
                  torch.stack([a.down.bias for a in adapters]),
                  torch.stack([a.up.weight for a in adapters]),
                  torch.stack([a.up.bias for a in adapters]),
                  torch.cat([a.scale for a in adapters]))
        return list(ops.multi_adapter_triton(z, residual, *params))

    return eager, fused, (z, residual)


def mor_case(args):
    n, d, t = args.teachers, args.dims, args.tasks
    p = args.tokens - 1
    z = torch.randn(args.batch, args.tokens, d, device=args.device)
    tsap = torch.randn(n, args.batch, p, d, device=args.device)
    gates = torch.randn(args.batch, t, n + 1,
                        device=args.device).softmax(-1)

    def as_maps(tokens):  # the backbone's (B, d, h, w) views of tokens
        return tokens.transpose(1, 2).unsqueeze(-1)

    def eager(z, tsap, gates):
        experts = torch.stack([as_maps(z[:, 1:])] +
                              [as_maps(m) for m in tsap], dim=1)
        return [(experts * gates[:, k].to(experts.dtype)[:, :, None, None,
                                                         None]).sum(dim=1)
                for k in range(t)]

    def fused(z, tsap, gates):
        return [as_maps(m) for m in ops.mor_mix_triton(z[:, 1:], tsap, gates)]

    return eager, fused, (z, tsap, gates)


def median_ms(fn, device: str) -> float:
    """Median milliseconds of ``fn`` called one call at a time (CUDA:
    triton's do_bench, which includes the host's launch overhead)."""
    if device.startswith('cuda'):
        from triton.testing import do_bench
        return do_bench(fn, warmup=10, rep=50, return_mode='median')
    fn()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def graph_ms(fn) -> float:
    """Median milliseconds of ``fn`` replayed from a CUDA graph (the
    device's time alone); NaN, with the reason printed, if it cannot be
    captured."""
    from triton.testing import do_bench_cudagraph
    try:
        return do_bench_cudagraph(fn, rep=50, return_mode='median')
    except RuntimeError as e:
        print(f'CUDA-graph capture failed: {str(e).splitlines()[0]}')
        return float('nan')


def run(fn, inputs, precision, backward):
    """A closure running ``fn`` (and its backward pass with fixed random
    output gradients), and ``fn``'s outputs."""
    leaves = [x.detach().requires_grad_(backward) for x in inputs]
    device = inputs[0].device.type

    def forward():
        with torch.autocast(device, dtype=torch.bfloat16,
                            enabled=precision == 'bf16'):
            return fn(*leaves)

    if not backward:
        with torch.no_grad():
            return forward, forward()
    outs = forward()
    grads = [torch.randn_like(o) for o in outs]

    def forward_backward():
        torch.autograd.backward(forward(), grads)

    return forward_backward, outs


def bench(case, args, precision, backward):
    """Times per implementation, one call at a time and (CUDA) replayed
    from a CUDA graph, and the fused kernel's largest difference to eager
    relative to the largest eager value."""
    eager, fused, inputs = case(args)
    compiled = torch.compile(eager, backend=args.compile_backend)
    times, graph_times, outs = {}, {}, {}
    for name, fn in (('eager', eager), ('compile', compiled),
                     ('triton', fused)):
        call, outs[name] = run(fn, inputs, precision, backward)
        with torch.no_grad() if not backward else torch.enable_grad():
            times[name] = median_ms(call, args.device)
            if args.device.startswith('cuda'):
                graph_times[name] = graph_ms(call)
    ref = torch.stack([o.float().reshape(-1) for o in outs['eager']])
    got = torch.stack([o.float().reshape(-1) for o in outs['triton']])
    err = ((got - ref).abs().max() / ref.abs().max()).item()
    return times, graph_times, err


def print_table(title: str, rows: list) -> None:
    header = ('op', 'pass', 'amp', 'eager ms', 'compile ms', 'triton ms',
              'vs eager', 'vs compile', 'max rel diff')
    cells = [(op, what, amp, f'{t["eager"]:.3f}', f'{t["compile"]:.3f}',
              f'{t["triton"]:.3f}', f'{t["eager"] / t["triton"]:.2f}x',
              f'{t["compile"] / t["triton"]:.2f}x', f'{err:.1e}')
             for op, what, amp, t, err in rows]
    widths = [max(len(str(r[i])) for r in cells + [header])
              for i in range(len(header))]
    print(title)
    for row in [header] + cells:
        print('  '.join(str(v).ljust(w) for v, w in zip(row, widths)))


def main():
    args = parse_args()
    if not ops.triton_usable(torch.empty(0, device=args.device)):
        raise SystemExit(f'the Triton kernels cannot run on {args.device!r}: '
                         f'use a CUDA GPU (or TRITON_INTERPRET=1 for a CPU '
                         f'smoke test)')
    name = torch.cuda.get_device_name() if args.device.startswith('cuda') \
        else 'cpu (Triton interpreter)'
    print(f'{name}, torch {torch.__version__}; '
          f'batch {args.batch}, {args.tokens} tokens, width {args.dims}, '
          f'{args.teachers} teachers, {args.tasks} tasks')
    rows, graph_rows = [], []
    for op, case in (('adapter', adapter_case), ('mor_mix', mor_case)):
        for precision in args.precision:
            for backward in (False, True):
                times, graph_times, err = bench(case, args, precision,
                                                backward)
                what = 'fwd+bwd' if backward else 'fwd'
                rows.append((op, what, precision, times, err))
                if graph_times:
                    graph_rows.append((op, what, precision, graph_times,
                                       err))
    print_table('one call at a time (launch overhead included):', rows)
    if graph_rows:
        print_table('\nreplayed from a CUDA graph (device time alone):',
                    graph_rows)


if __name__ == '__main__':
    main()
