# Copyright (c) sak_mm contributors. All rights reserved.
"""Router statistics of a trained model: the MoR gate scores per task,
level and expert (SAK paper Fig. 4), or, for a decoder of routed experts
(FGMoE), how often each expert of each MoE is chosen and its mean gate.

From a trained model (runs its val set)::

    python tools/analysis/router_weights.py CONFIG CHECKPOINT --out-dir DIR

or from the JSON that RouterWeightsHook (or ExpertUsageHook) wrote during
validation/testing::

    python tools/analysis/router_weights.py --json WORK_DIR/test_router_weights.json
    python tools/analysis/router_weights.py --json WORK_DIR/test_expert_usage.json

Writes ``router_weights.json`` and ``router_weights.{png,pdf}`` (MoR) or
``expert_usage.json`` and ``expert_usage.{png,pdf}`` (routed experts) to the
output folder (by default ``router_weights/`` beside the checkpoint or the
JSON) and prints the table.
"""
import argparse
import contextlib
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.fileio import dump, load


def parse_args():
    parser = argparse.ArgumentParser(description='MoR router weights')
    parser.add_argument('config', nargs='?', help='model config')
    parser.add_argument('checkpoint', nargs='?', help='trained checkpoint')
    parser.add_argument('--json', help='a saved router-weights JSON instead')
    parser.add_argument('--out-dir',
                        help='output folder (default: router_weights/ '
                        'beside the checkpoint or the JSON)')
    parser.add_argument('--formats', nargs='+', default=['png', 'pdf'])
    parser.add_argument('--per-image', action='store_true',
                        help='keep every image\'s scores in the JSON')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if (args.json is None) == (args.config is None):
        parser.error('give either CONFIG CHECKPOINT or --json')
    if args.config is not None and args.checkpoint is None:
        parser.error('a CHECKPOINT is needed with CONFIG')
    return args


def measure(config, checkpoint, device, per_image, cfg_options=None) -> dict:
    """Run the model over its val set and summarise its routers."""
    from mmengine.runner import Runner
    from mmengine.utils import ProgressBar

    from sak_mm.apis import init_model
    from sak_mm.engine.hooks import (ExpertUsageRecorder, RouterWeightsRecorder,
                                     router_layout)
    model = init_model(config, checkpoint, device, cfg_options)
    neck = getattr(model, 'neck', None)
    if neck is not None and getattr(neck, 'mode', None) == 'mor':
        recorder, experts = RouterWeightsRecorder(router_layout(model),
                                                  per_image), None
    else:
        recorder, experts = None, ExpertUsageRecorder(model)
    loader = Runner.build_dataloader(model.cfg.val_dataloader)
    bar = ProgressBar(len(loader.dataset))
    with contextlib.ExitStack() as stack:
        if experts is not None:
            stack.enter_context(experts)
        for batch in loader:
            outputs = model.test_step(batch)
            if recorder is not None:
                recorder.update(outputs)
            for _ in outputs:
                bar.update()
    print()
    summary = (recorder or experts).summarize()
    summary['source'] = f'{osp.basename(checkpoint)}, val split'
    return summary


def main():
    args = parse_args()
    from sak_mm.utils import analysis_dir
    from sak_mm.visualization import (expert_usage_table, plot_expert_usage,
                                      plot_router_weights, router_table)
    if args.json is not None:
        summary = load(args.json)
        if 'routers' not in summary and ('tasks' not in summary
                                         or 'experts' not in summary):
            raise ValueError(f'{args.json} is not a router-weights JSON '
                             f'(written by RouterWeightsHook) nor an '
                             f'expert-usage JSON (ExpertUsageHook)')
    else:
        summary = measure(args.config, args.checkpoint, args.device,
                          args.per_image, args.cfg_options)
    name, plot, table = ('expert_usage', plot_expert_usage,
                         expert_usage_table) if 'routers' in summary else (
                             'router_weights', plot_router_weights,
                             router_table)
    out_dir = args.out_dir or analysis_dir('router_weights', args.json or
                                           args.checkpoint)
    os.makedirs(out_dir, exist_ok=True)
    dump(summary, osp.join(out_dir, f'{name}.json'), indent=1)
    for fmt in args.formats:
        plot(summary, osp.join(out_dir, f'{name}.{fmt}'))
    print(table(summary))
    print(f'figures and JSON written to {out_dir}')


if __name__ == '__main__':
    main()
