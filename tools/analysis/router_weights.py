# Copyright (c) sak_mm contributors. All rights reserved.
"""Gate scores of the MoR routers per task, level and expert (paper Fig. 4).

From a trained model (runs its val set)::

    python tools/analysis/router_weights.py CONFIG CHECKPOINT --out-dir DIR

or from the JSON that RouterWeightsHook wrote during validation/testing::

    python tools/analysis/router_weights.py --json WORK_DIR/test_router_weights.json

Writes ``router_weights.json`` and ``router_weights.{png,pdf}`` to the
output folder and prints the table.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.fileio import dump, load


def parse_args():
    parser = argparse.ArgumentParser(description='MoR router weights')
    parser.add_argument('config', nargs='?', help='model config')
    parser.add_argument('checkpoint', nargs='?', help='trained checkpoint')
    parser.add_argument('--json', help='a saved router-weights JSON instead')
    parser.add_argument('--out-dir', default='work_dirs/router_weights')
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
    """Run the model over its val set and summarise the gate scores."""
    from mmengine.runner import Runner
    from mmengine.utils import ProgressBar

    from sak_mm.apis import init_model
    from sak_mm.engine.hooks import RouterWeightsRecorder, router_layout
    model = init_model(config, checkpoint, device, cfg_options)
    recorder = RouterWeightsRecorder(router_layout(model), per_image)
    loader = Runner.build_dataloader(model.cfg.val_dataloader)
    bar = ProgressBar(len(loader.dataset))
    for batch in loader:
        outputs = model.test_step(batch)
        recorder.update(outputs)
        for _ in outputs:
            bar.update()
    print()
    return recorder.summarize()


def main():
    args = parse_args()
    from sak_mm.visualization import plot_router_weights, router_table
    if args.json is not None:
        summary = load(args.json)
        if 'tasks' not in summary or 'experts' not in summary:
            raise ValueError(f'{args.json} is not a router-weights JSON '
                             f'(written by RouterWeightsHook)')
    else:
        summary = measure(args.config, args.checkpoint, args.device,
                          args.per_image, args.cfg_options)
    os.makedirs(args.out_dir, exist_ok=True)
    dump(summary, osp.join(args.out_dir, 'router_weights.json'), indent=1)
    for fmt in args.formats:
        plot_router_weights(summary,
                            osp.join(args.out_dir, f'router_weights.{fmt}'))
    print(router_table(summary))
    print(f'figures and JSON written to {args.out_dir}')


if __name__ == '__main__':
    main()
