# Copyright (c) sak_mm contributors. All rights reserved.
"""Cosine similarity between each TSAP and its teacher (paper Table 3).

    python tools/analysis/rep_similarity.py CONFIG CHECKPOINT [--split val]

Builds the model with its teachers, measures every image of the chosen
split and writes ``rep_similarity.json``. Teachers are never saved in a
student checkpoint, so each must have its weights: the config's
``model.teachers.<name>.checkpoint`` or ``--teacher-weights NAME=FILE``
(formats: docs/weights.md). A teacher without weights would be a fresh
random network, and its similarity meaningless: the tool refuses.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.fileio import dump


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?',
                        help='student checkpoint (omit: initial weights)')
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        default='val')
    parser.add_argument('--out-dir',
                        help='output folder (default: rep_similarity/ '
                        'beside the checkpoint)')
    parser.add_argument('--teacher-weights', nargs='+', action=DictAction,
                        metavar='NAME=FILE', default={},
                        help='weight file of a teacher (sets '
                        'model.teachers.NAME.checkpoint)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    import torch
    from mmengine.runner import Runner
    from mmengine.utils import ProgressBar

    from sak_mm.apis import init_model
    from sak_mm.engine.hooks import RepSimilarityMeter
    from sak_mm.utils import (analysis_dir, load_config,
                              teachers_without_weights)
    from sak_mm.visualization.plots import format_table

    cfg = load_config(args.config, args.cfg_options)
    teachers = cfg.model.get('teachers') or {}
    for name, path in args.teacher_weights.items():
        if name not in teachers:
            raise KeyError(f'--teacher-weights {name}=...: {args.config} has '
                           f'no teacher {name!r}; its teachers: '
                           f'{sorted(teachers)}')
        teachers[name].checkpoint = path
    if not teachers:
        raise ValueError(f'{args.config} has no teachers to compare to')
    unweighted = teachers_without_weights(cfg.model)
    if unweighted:
        raise ValueError(
            f'{args.config}: the similarity to a teacher needs its trained '
            f'weights, and teacher(s) {unweighted} have none (no '
            f'model.teachers.<name>.checkpoint); built now they would be '
            f'random networks, different on every run. Give each file: '
            f'--teacher-weights ' + ' '.join(f'{n}=FILE' for n in unweighted)
            + ' (formats: docs/weights.md, section "Teachers")')
    model = init_model(cfg, args.checkpoint, args.device, with_teachers=True)
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    if loader_cfg is None:
        raise ValueError(f'{args.config} has no {args.split}_dataloader; '
                         f'choose another --split')
    if args.split == 'train':
        loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
        if cfg.get('test_dataloader'):  # plain images, not augmented ones
            loader_cfg.dataset.pipeline = cfg.test_dataloader.dataset.pipeline
    loader = Runner.build_dataloader(loader_cfg)
    meter = RepSimilarityMeter()
    bar = ProgressBar(len(loader.dataset))
    with torch.no_grad():
        for batch in loader:
            inputs = model.data_preprocessor(batch, False)['inputs']
            meter.update(model, inputs)
            for _ in range(inputs.shape[0]):
                bar.update()
    print()
    summary = meter.summarize()
    out_dir = args.out_dir or analysis_dir('rep_similarity', args.checkpoint,
                                           args.config)
    os.makedirs(out_dir, exist_ok=True)
    dump(summary, osp.join(out_dir, 'rep_similarity.json'), indent=1)
    rows = [[name] + entry['levels'] + [entry['mean']]
            for name, entry in summary['teachers'].items()]
    levels = len(next(iter(summary['teachers'].values()))['levels'])
    print(format_table(['teacher'] + [f'level {k + 1}' for k in range(levels)]
                       + ['mean'], rows))
    print(f'overall: {summary["overall"]:.4f} over {summary["num_images"]} '
          f'images; written to {out_dir}')


if __name__ == '__main__':
    main()
