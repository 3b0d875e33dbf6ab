# Copyright (c) sak_mm contributors. All rights reserved.
"""Cosine similarity between each TSAP and its teacher (paper Table 3).

    python tools/analysis/rep_similarity.py CONFIG CHECKPOINT [--split val]

Builds the model with its teachers (their weights must be available),
measures every image of the chosen split and writes ``rep_similarity.json``.
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
    parser.add_argument('--out-dir', default='work_dirs/rep_similarity')
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
    from sak_mm.visualization.plots import format_table

    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options, with_teachers=True)
    cfg = model.cfg
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
    os.makedirs(args.out_dir, exist_ok=True)
    dump(summary, osp.join(args.out_dir, 'rep_similarity.json'), indent=1)
    rows = [[name] + entry['levels'] + [entry['mean']]
            for name, entry in summary['teachers'].items()]
    levels = len(next(iter(summary['teachers'].values()))['levels'])
    print(format_table(['teacher'] + [f'level {k + 1}' for k in range(levels)]
                       + ['mean'], rows))
    print(f'overall: {summary["overall"]:.4f} over {summary["num_images"]} '
          f'images; written to {args.out_dir}')


if __name__ == '__main__':
    main()
