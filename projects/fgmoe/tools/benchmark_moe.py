# Copyright (c) sak_mm contributors. All rights reserved.
"""Forward + backward time of one fine-grained MoE layer, routed dispatch
against the dense reference (every expert on every token).

    PYTHONPATH=. python projects/fgmoe/tools/benchmark_moe.py [--tokens 12544]

Defaults: the paper's layer (C = 256, h = 256, 2 shared + 6 routed, top-3)
on the tokens of one 448x448 image at H/4 (112 x 112 = 12544). Prints the
median over ``--repeat`` runs after one warm-up, and the largest difference
between the two outputs.
"""
import argparse
import statistics
import time

import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tokens', type=int, default=12544)
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--shared', type=int, default=2)
    parser.add_argument('--routed', type=int, nargs='+', default=[6, 16])
    parser.add_argument('--top-k', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def step_time(step, device: str, repeat: int) -> float:
    """Median seconds of ``step()`` over ``repeat`` runs after a warm-up."""
    cuda = torch.device(device).type == 'cuda'
    step()  # warm-up
    times = []
    for _ in range(repeat):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    args = parse_args()
    from projects.fgmoe.fgmoe import FineGrainedMoE
    print(f'{args.tokens} tokens, C={args.channels}, h={args.hidden}, '
          f'{args.shared} shared, top-{args.top_k}, {args.device}, '
          f'{torch.get_num_threads()} threads')
    for routed in args.routed:
        torch.manual_seed(0)
        kw = dict(channels=args.channels, hidden=args.hidden,
                  num_shared=args.shared, num_routed=routed,
                  top_k=args.top_k)
        sparse = FineGrainedMoE(dispatch='routed', **kw).to(args.device)
        dense = FineGrainedMoE(dispatch='dense', **kw).to(args.device)
        dense.load_state_dict(sparse.state_dict())
        x = torch.randn(1, args.tokens, args.channels, device=args.device)
        with torch.no_grad():
            diff = (sparse(x)[0] - dense(x)[0]).abs().max().item()
        t_routed, t_dense = (
            step_time(lambda m=m: m(x)[0].sum().backward(), args.device,
                      args.repeat) for m in (sparse, dense))
        print(f'{routed:3d} routed experts: routed {t_routed * 1e3:7.1f} ms, '
              f'dense {t_dense * 1e3:7.1f} ms ({t_dense / t_routed:.2f}x), '
              f'max |diff| {diff:.2e}')


if __name__ == '__main__':
    main()
