# Copyright (c) sak_mm contributors. All rights reserved.
"""Draw what a config's data pipeline feeds the model (image + labels).

    python tools/misc/browse_dataset.py CONFIG --output-dir DIR [--phase train]

Each PNG shows the augmented image and every task's label after the
pipeline (crop, scale, flip: flipped normals keep pointing the way the
flipped surface faces, i.e. red = +x stays to the right), each panel
titled, the tasks in the config's order, each with the key to its colours.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--output-dir',
                        help='output folder (default: work_dirs/<config '
                        'name>/browse_dataset, the config\'s work dir)')
    parser.add_argument('--phase', choices=['train', 'val', 'test'],
                        default='train')
    parser.add_argument('--num', type=int, default=10,
                        help='number of samples to draw')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    from mmengine.utils import ProgressBar

    from sak_mm.registry import DATASETS
    from sak_mm.utils import analysis_dir, load_config
    from sak_mm.visualization import MultiTaskVisualizer
    cfg = load_config(args.config, args.cfg_options)
    dataset = DATASETS.build(cfg.get(f'{args.phase}_dataloader').dataset)
    visualizer = MultiTaskVisualizer(name='browse_dataset')
    visualizer.dataset_meta = dataset.metainfo
    out_dir = args.output_dir or analysis_dir('browse_dataset',
                                              config=args.config)
    os.makedirs(out_dir, exist_ok=True)
    count = min(args.num, len(dataset))
    bar = ProgressBar(count)
    for i in range(count):
        item = dataset[i]
        sample = item['data_samples']
        image = item['inputs'].permute(1, 2, 0).numpy()
        stem = osp.splitext(osp.basename(sample.img_path))[0]
        flip = '_flip' if sample.get('flip') else ''
        name = f'{i:04d}_{stem}{flip}.png'
        visualizer.add_datasample(name, image, sample, draw_pred=False,
                                  out_file=osp.join(out_dir, name))
        bar.update()
    print(f'\n{count} samples drawn to {out_dir}')


if __name__ == '__main__':
    main()
