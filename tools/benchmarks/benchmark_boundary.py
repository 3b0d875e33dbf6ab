# Copyright (c) sak_mm contributors. All rights reserved.
"""Seconds per image and score differences of the boundary benchmark's
backends, on generated NYUD-like and PASCAL-like predictions
(:func:`sak_mm.utils.synthetic.synthetic_boundary_pair`).

    python tools/benchmarks/benchmark_boundary.py --images 12
    python tools/benchmarks/benchmark_boundary.py --datasets pascal --images 4 --fast-only

Each image is scored by both backends in this process, one core each
(``'fast'``: numba; ``'exact-reference'``: pyEdgeEval's BSDS matcher), after
a warm-up that compiles (or loads from numba's cache) the fast kernels; the
table gives the mean seconds per image, the speed-up, the share of
per-threshold count rows that are equal, and the dataset-level ODS / OIS /
AP of both with their largest difference (in F-points, 0-100).
"""
import argparse
import time

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description='boundary backends')
    parser.add_argument('--datasets', nargs='+', default=['nyud', 'pascal'],
                        choices=['nyud', 'pascal'])
    parser.add_argument('--images', type=int, default=12,
                        help='generated images per dataset')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the first generated image')
    parser.add_argument('--fast-only', action='store_true',
                        help='time the fast backend alone (no pyEdgeEval)')
    return parser.parse_args()


def score(pairs, max_dist, backend):
    """Per-image counts and the total seconds of ``backend``."""
    from sak_mm.evaluation.boundary import image_counts
    counts = []
    start = time.perf_counter()
    for pred, gt in pairs:
        counts.append(image_counts(pred, gt, max_dist, backend=backend))
    return counts, time.perf_counter() - start


def main():
    args = parse_args()
    from sak_mm.evaluation.boundary import image_counts, summarize
    from sak_mm.utils.synthetic import (BOUNDARY_DATASETS,
                                        synthetic_boundary_pair)
    warm_pred, warm_gt = synthetic_boundary_pair('pascal', 0, (48, 64))
    image_counts(warm_pred, warm_gt, 0.0075)  # compile the kernels
    header = ('| dataset | images | fast s/image | reference s/image | '
              'speed-up | equal count rows | ODS fast / ref | OIS fast / ref '
              '| AP fast / ref | max abs diff |')
    print(header)
    print('| ' + ' | '.join(['---'] * 10) + ' |')
    for dataset in args.datasets:
        spec = BOUNDARY_DATASETS[dataset]
        pairs = [synthetic_boundary_pair(dataset, args.seed + i)
                 for i in range(args.images)]
        fast, fast_s = score(pairs, spec['max_dist'], 'fast')
        ours = summarize(fast)
        if args.fast_only:
            print(f"| {dataset} | {len(pairs)} | {fast_s / len(pairs):.2f} | "
                  f"- | - | - | {100 * ours['odsF']:.2f} | "
                  f"{100 * ours['oisF']:.2f} | {100 * ours['AP']:.2f} | - |")
            continue
        ref, ref_s = score(pairs, spec['max_dist'], 'exact-reference')
        theirs = summarize(ref)
        rows = np.concatenate([(a == b).all(1) for a, b in zip(fast, ref)])
        diff = max(abs(100 * (ours[k] - theirs[k]))
                   for k in ('odsF', 'oisF', 'AP'))
        print(f"| {dataset} | {len(pairs)} | {fast_s / len(pairs):.2f} | "
              f"{ref_s / len(pairs):.2f} | {ref_s / fast_s:.1f}x | "
              f"{rows.sum()} / {rows.size} | "
              f"{100 * ours['odsF']:.2f} / {100 * theirs['odsF']:.2f} | "
              f"{100 * ours['oisF']:.2f} / {100 * theirs['oisF']:.2f} | "
              f"{100 * ours['AP']:.2f} / {100 * theirs['AP']:.2f} | "
              f"{diff:.3f} |")


if __name__ == '__main__':
    main()
