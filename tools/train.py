# Copyright (c) sak_mm contributors. All rights reserved.
"""Train a model from a config with sak_mm's Runner."""
import argparse
import os

from mmengine.config import Config, DictAction

from sak_mm.engine import SAKRunner
from sak_mm.registry import RUNNERS
from sak_mm.utils import (apply_runtime_switches, check_weight_files,
                          default_work_dir, leave_process_group,
                          set_precision)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a sak_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        nargs='?',
        const='auto',
        choices=['auto', 'bf16', 'fp16', 'fp32'],
        help='training precision: the GPU configs train in bf16 AMP; '
        '"--amp fp32" trains in full precision (the reference math), bare '
        '"--amp" turns AMP on for a config without it (bf16 where '
        'supported, else fp16)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly from the config\'s '
        'auto_scale_lr.base_batch_size (the reference\'s batch) to the batch '
        'of this run (GPUs x batch_size)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'train_cfg.max_iters=100 model.neck.mode=sum')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Apply the command-line options to the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.amp is not None:
        set_precision(cfg, args.amp)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError(f'{args.config} sets no auto_scale_lr.'
                           f'base_batch_size to scale the learning rate from')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return apply_runtime_switches(cfg)


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    check_weight_files(cfg, training=True)  # all missing files at once
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        SAKRunner.from_cfg(cfg)
    runner.train()
    leave_process_group()


if __name__ == '__main__':
    main()
