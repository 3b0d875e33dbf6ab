# Copyright (c) sak_mm contributors. All rights reserved.
"""Evaluate a checkpoint on a config's test set with sak_mm's Runner."""
import argparse
import os

from mmengine.config import Config, DictAction

from sak_mm.engine import SAKRunner
from sak_mm.registry import RUNNERS
from sak_mm.utils import (apply_runtime_switches, default_work_dir,
                          leave_process_group, set_build_teachers)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a sak_mm model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--out', help='dump the metrics to this JSON/YAML/pickle file')
    parser.add_argument(
        '--show-dir',
        help='draw image, ground truth and predictions of every test image '
        'into this folder (relative to the work dir)')
    parser.add_argument(
        '--save-preds',
        help='save every prediction into this folder (relative to the work '
        'dir), one sub-folder per task; boundaries go to edge/img/<id>.png '
        'as 8-bit maps, the layout SEISM reads')
    parser.add_argument(
        '--amp', action='store_true', help='run the model under autocast')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config')
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


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    # Testing needs only the student: teachers are not built or loaded, and
    # the checkpoint must fit the student exactly (strict loading).
    set_build_teachers(cfg.model, False)
    cfg.load_from = None
    if args.show_dir:
        cfg.default_hooks.visualization = dict(
            type='MultiTaskVisualizationHook', show_dir=args.show_dir)
    if args.save_preds:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='PredictionSaverHook', out_dir=args.save_preds)
        ]
    apply_runtime_switches(cfg)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        SAKRunner.from_cfg(cfg)
    runner.load_checkpoint(args.checkpoint, map_location='cpu', strict=True)
    metrics = runner.test()
    leave_process_group()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
