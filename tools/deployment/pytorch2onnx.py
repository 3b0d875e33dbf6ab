# Copyright (c) sak_mm contributors. All rights reserved.
"""Export a trained model to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \\
        [--shape H W] [--dynamic] [--batch-size N] [--out FILE]

The whole student in eval mode (stem, adapter paths, MoR routers with
clean gates, every head; an FGMoE decoder with its deformable step and
top-K routing) as one graph: normalised images ``inputs`` in, each task's
logits (named by the task) and a SAK model's gate scores
(``gate_scores.<task>``) out. Then onnxruntime and PyTorch run the same
random images (at batch sizes 1 and 3 for a ``--dynamic`` batch) and the
largest differences are printed; a relative difference above ``--rtol``
fails. Needs ``pip install -e ".[deploy]"``; docs/deployment.md.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input height and width (default: the '
                        "model's training crop)")
    parser.add_argument('--dynamic', action='store_true',
                        help='leave the batch size open')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='the fixed batch size without --dynamic')
    parser.add_argument('--out', help='the .onnx file (default: the '
                        'checkpoint with .onnx for .pth)')
    parser.add_argument('--rtol', type=float, default=1e-4,
                        help='largest relative difference accepted')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    from sak_mm.apis import init_model
    from sak_mm.apis.onnx_export import (OPSET, compare_with_onnxruntime,
                                         export_onnx, graph_metadata,
                                         synthetic_inputs)
    from sak_mm.utils import load_config

    # the eager modules: the speed layer's Triton kernels and
    # torch.compile have no ONNX form (same weights and values)
    cfg = load_config(args.config,
                      dict(args.cfg_options or {}, fused_kernels=False))
    cfg.model.pop('compile', None)
    model = init_model(cfg, args.checkpoint)
    if not model.tasks:
        raise SystemExit(f'{args.config} has no decoder (e.g. stage 1): '
                         f'nothing to export')
    shape = args.shape or model.data_preprocessor.pad_size
    if shape is None:
        raise SystemExit('the config gives no crop size: pass --shape H W')
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    batch = 2 if args.dynamic else args.batch_size
    print(f'exporting {args.config} with {args.checkpoint} ...', flush=True)
    names = export_onnx(model, synthetic_inputs(model, shape, batch), out,
                        dynamic_batch=args.dynamic,
                        metadata=graph_metadata(model))
    print(f'{out}: opset {OPSET}, input "inputs" '
          f'({"batch" if args.dynamic else args.batch_size}, 3, '
          f'{shape[0]}, {shape[1]}), outputs {", ".join(names)}')

    worst = 0.0
    for size in (1, 3) if args.dynamic else (args.batch_size, ):
        print(f'running onnxruntime and PyTorch at batch {size} ...',
              flush=True)
        report = compare_with_onnxruntime(
            model, out, synthetic_inputs(model, shape, size, seed=1))
        print(f'onnxruntime vs PyTorch, batch {size}:')
        for name, r in report.items():
            print(f'  {name:<24} {str(tuple(r["shape"])):<20} max |diff| '
                  f'{r["max_abs"]:.2e}  relative {r["max_rel"]:.2e}')
            worst = max(worst, r['max_rel'])
    if worst > args.rtol:
        hint = ('; only a --dynamic graph differing means a part computes '
                'a size from the batch in Python (mmpretrain\'s Swin '
                'does): export a fixed --batch-size' if args.dynamic else '')
        raise SystemExit(f'{out} differs from PyTorch: relative '
                         f'{worst:.2e} > --rtol {args.rtol:g}{hint}')
    print(f'largest relative difference {worst:.2e} <= {args.rtol:g}')


if __name__ == '__main__':
    main()
