# Copyright (c) sak_mm contributors. All rights reserved.
"""Config mistakes are named by key before anything is built: a top-level
key nothing reads, an argument a class does not take, a wrong-typed value;
and no bundled config trips the check."""
import contextlib
import glob
import logging
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from sak_mm.utils.config_check import ConfigError, check_config, unread_keys
from tests.test_engine.demo_run import DEMO, ROOT


def demo(**options):
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(options)
    return cfg


@contextlib.contextmanager
def logged_warnings():
    """The warnings logged to mmengine's current logger (which does not
    propagate to pytest's caplog)."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def problems(cfg):
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    return str(err.value).splitlines()[1:]


def test_every_bundled_config_passes():
    files = sorted(
        f for f in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                             recursive=True) +
        glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '**', '*.py'),
                  recursive=True) if '_base_' not in f)
    assert len(files) > 100
    with logged_warnings() as logged:
        for path in files:
            cfg = Config.fromfile(path)
            assert unread_keys(cfg) == [], path
            check_config(cfg)  # raises on a problem
    assert logged == []


def test_misspelt_top_level_keys_are_refused_with_the_key_meant():
    cfg = demo(optim_wraper=dict(optimizer=dict(lr=0.1)),
               randomnes=dict(seed=3))
    assert problems(cfg) == [
        "  optim_wraper: nothing reads this top-level key (did you mean "
        "'optim_wrapper'?)",
        "  randomnes: nothing reads this top-level key (did you mean "
        "'randomness'?)"]


def test_unknown_arguments_are_named_by_key_path():
    cfg = demo(**{'model.heads.semseg.out_channel': 40,
                  'default_hooks.checkpoint.max_keep_ckpt': 2,
                  'train_dataloader.dataset.data_rot': 'x',
                  'train_cfg.max_iter': 5})
    assert sorted(problems(cfg)) == sorted([
        "  model.heads.semseg.out_channel: SimpleHead takes no argument "
        "'out_channel' (did you mean 'out_channels'?)",
        "  default_hooks.checkpoint.max_keep_ckpt: SafeCheckpointHook takes "
        "no argument 'max_keep_ckpt' (did you mean 'max_keep_ckpts'?)",
        "  train_dataloader.dataset.data_rot: NYUDv2Dataset takes no "
        "argument 'data_rot' (did you mean 'data_root'?)",
        "  train_cfg.max_iter: IterBasedTrainLoop takes no argument "
        "'max_iter' (did you mean 'max_iters'?)"])


def test_wrong_typed_values_are_named_by_key_path():
    cfg = demo(**{'train_cfg.max_iters': '100',
                  'train_dataloader.batch_size': 2.5,
                  'randomness.deterministic': 'yes',
                  'model.heads.semseg.out_channels': [40]})
    assert sorted(problems(cfg)) == sorted([
        "  train_cfg.max_iters: IterBasedTrainLoop expects int, got str "
        "'100'",
        "  train_dataloader.batch_size: DataLoader expects int, got float "
        "2.5",
        "  randomness.deterministic: set_random_seed expects bool, got str "
        "'yes'",
        "  model.heads.semseg.out_channels: SimpleHead expects int, got list "
        "[40]"])
    # an integral float where an int is meant, and an int for a float, pass
    check_config(demo(**{'train_cfg.max_iters': 100.0,
                         'optim_wrapper.optimizer.lr': 1}))


def test_a_variable_that_changes_nothing_is_reported(tmp_path):
    """Setting ``crop_size`` over a _base_ whose pipeline used it leaves the
    pipeline as it was: the variable is reported, a used one is not."""
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{DEMO!r}]\ncrop_size = (64, 64)\n'
                     'max_iters = 600\n')
    cfg = Config.fromfile(str(child))
    assert unread_keys(cfg) == ['crop_size']
    with logged_warnings() as logged:
        check_config(cfg)
    assert len(logged) == 1
    assert "nothing reads the top-level key(s) ['crop_size']" in logged[0]


def test_train_tool_stops_before_building_and_lists_every_problem(tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), DEMO,
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         'optim_wraper.optimizer.lr=0.1', 'train_cfg.max_iters=1k'],
        env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
        text=True, timeout=300)
    assert out.returncode != 0
    assert 'ConfigError' in out.stderr and DEMO in out.stderr
    assert "optim_wraper: nothing reads this top-level key (did you mean " \
        "'optim_wrapper'?)" in out.stderr
    assert "train_cfg.max_iters: IterBasedTrainLoop expects int, got str " \
        "'1k'" in out.stderr
    assert not (tmp_path / 'work').exists()  # nothing was built



def test_counts_below_one_and_non_numeric_optimizer_values_are_refused():
    """``max_iters=0`` used to train nothing and exit 0, ``val_interval=0``
    to divide by zero after an iteration, ``logger.interval=0`` to fail
    without a key, a string lr to fail inside the scheduler."""
    cfg = demo(**{'train_cfg.max_iters': 0,
                  'train_cfg.val_interval': 0,
                  'default_hooks.logger.interval': 0,
                  'default_hooks.checkpoint.interval': 0,
                  'optim_wrapper.optimizer.lr': '1e-3',
                  'optim_wrapper.optimizer.betas': [0.9]})
    assert sorted(problems(cfg)) == sorted([
        '  train_cfg.max_iters: expects a whole number >= 1 (iterations to '
        'train), got 0',
        '  train_cfg.val_interval: expects a whole number >= 1 (iterations '
        '(or epochs) between validations), got 0',
        '  default_hooks.logger.interval: expects a whole number >= 1 '
        '(iterations between log lines), got 0',
        '  default_hooks.checkpoint.interval: expects a whole number >= 1 '
        '(iterations or epochs between checkpoints) or -1 (none), got 0',
        "  optim_wrapper.optimizer.lr: expects a number, got '1e-3'",
        '  optim_wrapper.optimizer.betas: expects two numbers, got [0.9]'])
    assert problems(demo(**{'train_cfg.max_iters': -5}))
    # -1: no checkpoints, as mmengine's CheckpointHook reads it
    check_config(demo(**{'default_hooks.checkpoint.interval': -1}))
