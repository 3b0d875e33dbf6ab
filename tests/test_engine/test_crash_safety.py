# Copyright (c) sak_mm contributors. All rights reserved.
"""What survives a crash: real training processes killed with SIGKILL at
chosen moments of a checkpoint save and resumed; NaN losses and weights;
--resume without (or with a stale) last_checkpoint; a fresh run over old
checkpoints."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.engine.hooks import NonFiniteError
from sak_mm.registry import HOOKS
from sak_mm.utils import load_checkpoint_file
from tests.test_engine.demo_run import DEMO, ROOT, options


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('rooms')
    return str(make_demo_nyud(str(root), num_train=4, num_val=2,
                              size=(60, 80), seed=5))


LAUNCH = ('import sys, runpy; sys.path.insert(0, {root!r}); '
          'import tests.test_engine.stalling_save; '
          'sys.argv = {argv!r}; '
          "runpy.run_path({train!r}, run_name='__main__')")


def start_training(work, opts, resume=False, stall=None, tmp=None):
    """``tools/train.py`` in a new process (its checkpoints through the
    stalling backend when ``stall`` is given)."""
    opts = dict(opts)
    env = dict(os.environ, PYTHONPATH=ROOT)
    if stall is not None:
        opts['default_hooks.checkpoint.backend_args.backend'] = \
            'stalling_local'
        env.update(STALL_AT=stall, STALL_MARK=str(tmp / 'stalled'))
    argv = ['train.py', DEMO, '--work-dir', str(work)]
    if resume:
        argv.append('--resume')
    argv += ['--cfg-options'] + [f'{k}={v}' for k, v in opts.items()]
    code = LAUNCH.format(root=ROOT, argv=argv,
                         train=osp.join(ROOT, 'tools', 'train.py'))
    return subprocess.Popen([sys.executable, '-c', code], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for(predicate, proc, timeout=240):
    start = time.time()
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f'training ended early:\n{proc.stdout.read()}')
        if time.time() - start > timeout:
            proc.kill()
            raise AssertionError('timed out waiting for the training process')
        time.sleep(0.2)


def last_named(work):
    path = osp.join(work, 'last_checkpoint')
    return open(path).read().strip() if osp.isfile(path) else None


def finish(proc):
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


@pytest.fixture(scope='module')
def uninterrupted(rooms, tmp_path_factory):
    """The final checkpoint of the 6-iteration run, never killed."""
    work = tmp_path_factory.mktemp('uninterrupted')
    finish(start_training(work, options(rooms, iters=6)))
    return load_checkpoint_file(str(work / 'iter_6.pth'))


def assert_same_training_state(want, got):
    assert want['state_dict'].keys() == got['state_dict'].keys()
    for key, value in want['state_dict'].items():
        assert torch.equal(value, got['state_dict'][key]), key
    assert want['optimizer']['state'].keys() == got['optimizer']['state'].keys()
    for index, state in want['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value),
                               torch.as_tensor(got['optimizer']['state'][
                                   index][name])), (index, name)


@pytest.mark.parametrize('stall', ['iter_6.pth:before_write',
                                   'iter_4.pth:mid_write',
                                   'iter_4.pth:after_rename'])
def test_kill_during_or_after_a_save_loses_nothing(stall, rooms, tmp_path,
                                                   uninterrupted):
    """SIGKILL once the iter_4 save is complete (iterations 5-6 done, not
    saved), while iter_4.pth is half written, or right after its rename
    (last_checkpoint still naming iter_2); with max_keep_ckpts=1, mmengine
    would have deleted iter_2 before writing iter_4. --resume then finishes
    the run, and its weights and optimizer state equal the uninterrupted
    run's bit for bit (torch's generator states are in the checkpoints, so
    the MoR noisy gating draws the same noise again)."""
    work = tmp_path / 'work'
    opts = options(rooms, iters=6)
    proc = start_training(work, opts, stall=stall, tmp=tmp_path)
    wait_for(lambda: osp.exists(tmp_path / 'stalled'), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    named = last_named(work)
    assert named is not None and osp.isfile(named)
    state = load_checkpoint_file(named)
    assert state['meta']['iter'] in (2, 4)
    moment = stall.split(':')[1]
    if moment == 'before_write':
        assert named.endswith('iter_4.pth')
        assert not osp.exists(work / 'iter_2.pth')  # rotated after the save
    if moment == 'mid_write':
        assert named.endswith('iter_2.pth')
        assert any(n.endswith('.tmp') for n in os.listdir(work))
    if moment == 'after_rename':
        assert named.endswith('iter_2.pth') and osp.isfile(work / 'iter_4.pth')

    out = finish(start_training(work, opts, resume=True))
    assert 'last_checkpoint names' in out
    assert osp.isfile(work / 'iter_6.pth')
    assert not any(n.endswith('.tmp') for n in os.listdir(work))
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == [
        'iter_6.pth']
    mode = os.stat(work / 'iter_6.pth').st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    final = load_checkpoint_file(str(work / 'iter_6.pth'))
    assert final['meta']['iter'] == 6
    assert_same_training_state(uninterrupted, final)


def runner_cfg(rooms, work, iters, **kwargs):
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(options(rooms, iters, **kwargs))
    cfg.work_dir = str(work)
    cfg.visualizer.name = f'{work}-{time.time()}'
    return cfg


@HOOKS.register_module()
class PoisonHook(Hook):
    """Test hook: before iteration ``at`` (1-based) writes NaN into the
    named parameter or buffer."""

    def __init__(self, at: int, name: str):
        self.at = at
        self.name = name

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            state = runner.model.state_dict(keep_vars=True)
            with torch.no_grad():
                state[self.name].fill_(float('nan'))


def test_a_nan_loss_stops_training_and_keeps_the_good_checkpoint(
        rooms, tmp_path):
    work = tmp_path / 'work'
    cfg = runner_cfg(rooms, work, iters=6, interval=1, keep=1)
    cfg.custom_hooks = [dict(type='PoisonHook', at=3,
                             name='heads.semseg.cls.weight')]
    with pytest.raises(NonFiniteError) as err:
        SAKRunner.from_cfg(cfg).train()
    message = str(err.value)
    assert message.startswith('iteration 3: non-finite loss')
    assert 'decode.semseg.loss_ce' in message and 'iter_2.pth' in message
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == [
        'iter_2.pth']
    assert last_named(work).endswith('iter_2.pth')
    weights = load_checkpoint_file(str(work / 'iter_2.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in weights.values()
               if v.is_floating_point())


def test_non_finite_weights_are_never_saved(rooms, tmp_path):
    """A NaN BN statistic leaves the training loss finite; the checkpoint
    hook refuses to write (and so to rotate out the good checkpoint)."""
    work = tmp_path / 'work'
    cfg = runner_cfg(rooms, work, iters=6, interval=1, keep=1)
    cfg.custom_hooks = [dict(type='PoisonHook', at=3,
                             name='heads.semseg.fuse.1.running_mean')]
    with pytest.raises(NonFiniteError, match='not saving checkpoint 3: 1 '
                       'weights.*running_mean.*iter_2.pth'):
        SAKRunner.from_cfg(cfg).train()
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == [
        'iter_2.pth']


def test_resume_finds_the_newest_checkpoint_without_last_checkpoint(
        rooms, tmp_path):
    work = tmp_path / 'work'
    SAKRunner.from_cfg(runner_cfg(rooms, work, iters=4, keep=3)).train()
    os.remove(work / 'last_checkpoint')
    cfg = runner_cfg(rooms, work, iters=6, keep=3)
    cfg.resume = True
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 6
    assert osp.isfile(work / 'iter_6.pth')
    # a stale last_checkpoint (its file deleted) falls back as well
    (work / 'last_checkpoint').write_text(str(work / 'iter_99.pth'))
    cfg = runner_cfg(rooms, work, iters=8, keep=3)
    cfg.resume = True
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 8
    meta = load_checkpoint_file(str(work / 'iter_8.pth'))['meta']
    assert meta['iter'] == 8


def test_a_fresh_run_refuses_to_write_over_old_checkpoints(rooms, tmp_path):
    work = tmp_path / 'work'
    SAKRunner.from_cfg(runner_cfg(rooms, work, iters=2)).train()
    with pytest.raises(FileExistsError, match='already holds checkpoints '
                       r'\(iter_2.pth\).*--resume.*overwrite=True'):
        SAKRunner.from_cfg(runner_cfg(rooms, work, iters=2)).train()
    cfg = runner_cfg(rooms, work, iters=2)
    cfg.default_hooks.checkpoint.overwrite = True
    SAKRunner.from_cfg(cfg).train()
    # --resume into an empty folder starts from 0, saying so
    cfg = runner_cfg(rooms, tmp_path / 'empty', iters=2)
    cfg.resume = True
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2

