# Copyright (c) sak_mm contributors. All rights reserved.
"""The small, deterministic demo run of the crash and distributed tests."""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')


def options(rooms, iters, interval=2, keep=1, workers=0, validate=True):
    """The demo, small and deterministic (two uninterrupted runs are
    bit-identical), its training data loaded by ``workers`` processes, with
    the final validation or (``validate=False``, 2-4 s less a run) without
    one."""
    opts = {
        'randomness.deterministic': True,
        'train_dataloader.dataset.data_root': rooms,
        'test_dataloader.dataset.data_root': rooms,
        'train_dataloader.num_workers': workers,
        'test_dataloader.num_workers': 0,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': 1000,
        'param_scheduler.0.end': iters,
        'default_hooks.checkpoint.interval': interval,
        'default_hooks.checkpoint.max_keep_ckpts': keep,
        'default_hooks.logger.interval': 1,
    }
    if validate:
        opts.update({'val_dataloader.dataset.data_root': rooms,
                     'val_dataloader.num_workers': 0})
    else:
        opts.update(val_dataloader=None, val_cfg=None, val_evaluator=None)
    return opts
