# Copyright (c) sak_mm contributors. All rights reserved.
"""Teacher-bias study (paper Fig. 1, left) from saved test results.

Each result is the JSON that ``tools/test.py ... --out FILE.json`` writes,
e.g. of frozen-teacher probing runs and of an ImageNet-ViT baseline::

    python tools/analysis/teacher_bias.py \\
        --baseline ViT=work_dirs/probe_vit/metrics.json \\
        --model DINOv2=work_dirs/probe_dinov2/metrics.json \\
        --model CLIP=work_dirs/probe_clip/metrics.json \\
        --model SAM=work_dirs/probe_sam/metrics.json --out-dir work_dirs/bias

Prints each model's relative improvement per task, mu, sigma and mu/sigma,
and writes ``teacher_bias.json`` and ``teacher_bias.{png,pdf}``.
"""
import argparse
import os
import os.path as osp

from mmengine.fileio import dump, load


def named_file(text: str):
    if '=' not in text:
        raise argparse.ArgumentTypeError(f'expected NAME=FILE, got {text!r}')
    name, path = text.split('=', 1)
    return name, path


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--baseline', type=named_file, required=True,
                        help='NAME=results.json of the reference model')
    parser.add_argument('--model', type=named_file, action='append',
                        required=True, help='NAME=results.json (repeat)')
    parser.add_argument('--metrics', nargs='+',
                        help='result keys to use (default: all shared)')
    parser.add_argument('--lower-is-better', nargs='+',
                        help='keys where lower is better (default: '
                        'depth/RMSE normals/mErr)')
    parser.add_argument('--out-dir',
                        help='output folder (default: teacher_bias/ beside '
                        'the baseline\'s JSON)')
    parser.add_argument('--formats', nargs='+', default=['png', 'pdf'])
    return parser.parse_args()


def main():
    args = parse_args()
    from sak_mm.evaluation import LOWER_IS_BETTER, teacher_bias_study
    from sak_mm.utils import analysis_dir
    from sak_mm.visualization import plot_teacher_bias, teacher_bias_table
    base_name, base_path = args.baseline
    study = teacher_bias_study(
        load(base_path), {name: load(path)
                          for name, path in args.model},
        metrics=args.metrics,
        lower_is_better=args.lower_is_better or LOWER_IS_BETTER,
        baseline_name=base_name)
    out_dir = args.out_dir or analysis_dir('teacher_bias', base_path)
    os.makedirs(out_dir, exist_ok=True)
    dump(study, osp.join(out_dir, 'teacher_bias.json'), indent=1)
    for fmt in args.formats:
        plot_teacher_bias(study, osp.join(out_dir, f'teacher_bias.{fmt}'))
    print(teacher_bias_table(study))
    print(f'written to {out_dir}')


if __name__ == '__main__':
    main()
