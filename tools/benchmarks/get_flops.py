# Copyright (c) sak_mm contributors. All rights reserved.
"""Parameters and forward multiply-accumulates (MACs) per component of a
config's model.

    python tools/benchmarks/get_flops.py configs/sak/sak_vitl_nyud.py [--shape 448 576]

Builds the model with random weights (no file is read) and counts one
image's forward pass with torch's FlopCounterMode, split into each teacher,
the stem (TAS), the adapter paths (TSAP, with norms and aligners), the MoR
neck and each task head -- or, for a backbone + shared decoder model
(FGMoE), the backbone and each part of the decoder. Then it prints the
trainable and frozen parameters per module.

The unit is the multiply-accumulate (MAC), what papers' "FLOPs" tables
(DeMT's, FGMoE's, and the counters they use) report: one multiply-add
counts once. Hardware FLOPs, as ``benchmark.py`` reports them for
throughput, are twice the MACs. A second column gives the MACs of the
attention products (``Q K^T`` and ``A V`` in scaled-dot-product attention,
quadratic in the tokens), which some counters leave out.
"""
import argparse
import sys

import torch
from mmengine.config import DictAction

from sak_mm.models.decode_heads import TaskHeads


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2,
                        help='input H W (default: the model\'s crop_size)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def progress(message: str) -> None:
    """What the tool is doing, on stderr (a ViT-L config with its teachers
    takes minutes on a CPU; stdout keeps the tables alone)."""
    print(message + ' ...', file=sys.stderr, flush=True)


def count(fn):
    """MACs of ``fn()`` per module: ``({module: all}, {module: attention})``
    (torch's counter gives 2 FLOPs per multiply-add)."""
    from sak_mm.utils import flop_counter
    from sak_mm.utils.flops import attention_ops
    counter = flop_counter(display=False)
    with counter, torch.no_grad():
        fn()
    sdpa = attention_ops()
    total, attention = {}, {}
    for module, ops in counter.get_flop_counts().items():
        total[module] = sum(ops.values()) / 2
        attention[module] = sum(n for op, n in ops.items()
                                if op in sdpa) / 2
    return total, attention


def subtree_count(counts: dict, key: str) -> float:
    """The count of the module ``key``: its own if it was called, else the
    sum over its outermost descendants that were (a module whose children
    are called one by one, like the stem's layers, has no count itself)."""
    if key in counts:
        return counts[key]
    inside = [k for k in counts if k.startswith(key + '.')]
    outer = [
        k for k in inside
        if not any(k.startswith(o + '.') for o in inside if o != k)
    ]
    return sum(counts[k] for k in outer)


def component_table(model, shape) -> list:
    """Rows ``(component, params, trainable, MACs, attention MACs)``."""
    x = torch.randn(1, 3, *shape)
    rows = []
    teachers = getattr(model, 'teacher_models', {})
    for name, teacher in teachers.items():
        progress(f'counting teacher {name}')
        macs, attn = count(lambda: teacher(x))
        params = sum(p.numel() for p in teacher.parameters())
        rows.append((f'teacher {name}', params, 0, macs['Global'],
                     attn['Global']))
    model.eval()
    progress('counting the student')
    macs, attn = count(lambda: model(x, mode='tensor'))
    root = type(model).__name__

    def module_row(label, module, key):
        params = sum(p.numel() for p in module.parameters())
        trainable = sum(p.numel() for p in module.parameters()
                        if p.requires_grad)
        rows.append((label, params, trainable,
                     subtree_count(macs, f'{root}.{key}'),
                     subtree_count(attn, f'{root}.{key}')))

    backbone = model.backbone
    if hasattr(backbone, 'stem'):
        module_row('stem (TAS)', backbone.stem, 'backbone.stem')
        tsap = [m for m in (backbone.adapters, backbone.out_norms,
                            backbone.aligners) if m is not None]
        params = sum(p.numel() for m in tsap for p in m.parameters())
        rows.append(('adapter paths (TSAP)', params, params) + tuple(
            subtree_count(c, f'{root}.backbone') -
            subtree_count(c, f'{root}.backbone.stem') for c in (macs, attn)))
    elif hasattr(backbone, 'teacher'):
        module_row('frozen teacher (probe)', backbone, 'backbone')
    else:
        module_row(f'backbone {type(backbone).__name__}', backbone,
                   'backbone')
    if getattr(model, 'neck', None) is not None:
        module_row('MoR neck', model.neck, 'neck')
    decoder = model.heads
    if isinstance(decoder, TaskHeads):
        for task, head in decoder.items():
            module_row(f'head {task}', head, f'heads.{task}')
    else:  # a shared decoder: one row per part
        for name, part in decoder.named_children():
            module_row(f'decoder {name}', part, f'heads.{name}')
    rows.append(('student total', sum(r[1] for r in rows[len(teachers):]),
                 sum(r[2] for r in rows), macs['Global'], attn['Global']))
    return rows


def significant(value: float) -> str:
    """Four significant digits (``2232``, ``21.15``, ``0.003412``), so a
    tiny model's entries do not print as zeros."""
    return f'{value:.4g}'


def input_shape(cfg) -> tuple:
    """The model's crop size, else 512 x 512."""
    return tuple(cfg.model.get('crop_size') or (512, 512))


def main():
    args = parse_args()
    from sak_mm.models.utils import parameter_table
    from sak_mm.registry import MODELS
    from sak_mm.utils import load_config, without_weight_files
    from sak_mm.visualization.plots import format_table
    cfg = load_config(args.config, args.cfg_options)
    progress(f'building the model of {args.config} with random weights')
    model = MODELS.build(without_weight_files(cfg.model))
    shape = tuple(args.shape or input_shape(cfg))
    rows = component_table(model, shape)
    table = [(name, ) + tuple(significant(v / scale) for v, scale in zip(
        values, (1e6, 1e6, 1e9, 1e9))) for name, *values in rows]
    print(f'input {shape[0]}x{shape[1]}, one image, forward; a MAC is one '
          f'multiply-add (2 FLOPs)')
    print(format_table(['component', 'params (M)', 'trainable (M)',
                        'GMACs', 'of which attention'], table))
    print('\ntrainable and frozen parameters per module:')
    print(parameter_table(model))


if __name__ == '__main__':
    main()
