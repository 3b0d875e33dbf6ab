# Copyright (c) sak_mm contributors. All rights reserved.
"""Forward + backward time of eq. (3)'s channel-wise deformable operator:
the project's sampling (``sample_per_channel``, a gather) against
``torchvision.ops.deform_conv2d`` computing the same operator (a 1 x 1
kernel, one offset group per channel), each followed by its 1 x 1 weight.

    PYTHONPATH=. python projects/fgmoe/tools/benchmark_deform.py

``--shape B C H W`` (repeatable) sets the inputs; the defaults are the
FGMoE CPU demo's mixer input (4 images, C = 32, a 96 x 128 crop at H/4) and
the paper's (C = 256) on two 448 x 576 images at H/8 (a quarter of H/4's
tokens, to fit a CPU). Offsets are random (std 0.5 pixel). Prints the
median over ``--repeat`` runs after a warm-up and the largest differences of
the output and of the gradients, relative to the largest value.
"""
import argparse

import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

from projects.fgmoe.tools.benchmark_moe import step_time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', type=int, nargs=4, action='append',
                        metavar=('B', 'C', 'H', 'W'))
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    from projects.fgmoe.fgmoe import sample_per_channel

    def ours(x, offset, weight, bias):
        return F.conv2d(sample_per_channel(x, offset), weight, bias)

    print(f'{args.device}, {torch.get_num_threads()} threads; forward + '
          f'backward, median of {args.repeat}')
    for b, c, h, w in args.shape or [(4, 32, 24, 32), (2, 256, 56, 72)]:
        torch.manual_seed(0)
        inputs = [
            torch.randn(b, c, h, w), 0.5 * torch.randn(b, 2 * c, h, w),
            torch.randn(c, c, 1, 1) / c**0.5, torch.randn(c)
        ]
        inputs = [t.to(args.device).requires_grad_() for t in inputs]
        times, results = [], []
        for op in (deform_conv2d, ours):
            out = op(*inputs)
            results.append([out] + list(torch.autograd.grad(
                out, inputs, torch.ones_like(out))))
            times.append(step_time(
                lambda op=op: op(*inputs).sum().backward(), args.device,
                args.repeat))
        diff = [((a - r).abs().max() / r.abs().max()).item()
                for a, r in zip(*results)]
        print(f'{b} x {c} x {h} x {w}: deform_conv2d {times[0] * 1e3:7.1f} '
              f'ms, gather {times[1] * 1e3:7.1f} ms '
              f'({times[0] / times[1]:.2f}x); max |diff| / max |value|: '
              f'output {diff[0]:.1e}, gradients {max(diff[1:]):.1e}')


if __name__ == '__main__':
    main()
