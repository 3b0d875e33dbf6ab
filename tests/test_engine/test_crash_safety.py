# Copyright (c) sak_mm contributors. All rights reserved.
"""What survives a crash: real training processes killed with SIGKILL at
chosen moments of a checkpoint save and resumed, or pre-empted with
SIGTERM; Ctrl-C during the final validation; NaN losses and weights;
--resume without (or with a stale) last_checkpoint, with a changed config
or a file that does not fit; a fresh run over old checkpoints; two runs in
one work dir."""
import multiprocessing
import os
import os.path as osp
import re
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
from sak_mm.engine.checkpoint_io import resume_checkpoint
from sak_mm.engine.hooks import NonFiniteError
from sak_mm.engine.runner import changed_for_resume
from sak_mm.engine.work_dir_lock import WorkDirBusyError, WorkDirLock
from sak_mm.registry import HOOKS
from sak_mm.utils import load_checkpoint_file
from sak_mm.utils.stop_signals import ignore_stop_signals
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
                            text=True, start_new_session=True)


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


def finish(proc, returncode=0):
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == returncode, out
    return out


def checkpoints(work):
    return sorted(n for n in os.listdir(work) if n.endswith('.pth'))


@pytest.fixture(scope='module')
def uninterrupted(rooms, tmp_path_factory):
    """The final checkpoint of the 6-iteration run, never killed."""
    work = tmp_path_factory.mktemp('uninterrupted')
    finish(start_training(work, options(rooms, iters=6, validate=False)))
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


@pytest.mark.parametrize('stall', ['iter_4.pth:mid_write',
                                   'iter_4.pth:after_rename'])
def test_kill_during_or_after_a_save_loses_nothing(stall, rooms, tmp_path,
                                                   uninterrupted):
    """SIGKILL while iter_4.pth is half written, or right after its rename
    (last_checkpoint still naming iter_2); with max_keep_ckpts=1, mmengine
    would have deleted iter_2 before writing iter_4. --resume then finishes
    the run, and its weights and optimizer state equal the uninterrupted
    run's bit for bit (torch's generator states are in the checkpoints, so
    the MoR noisy gating draws the same noise again). (A resume from a
    checkpoint followed by unsaved iterations is the SIGTERM test's.)"""
    work = tmp_path / 'work'
    opts = options(rooms, iters=6, validate=False)
    proc = start_training(work, opts, stall=stall, tmp=tmp_path)
    wait_for(lambda: osp.exists(tmp_path / 'stalled'), proc)
    if stall == 'iter_4.pth:mid_write':
        # the training process holds the work dir: a second run is refused,
        # naming it
        with pytest.raises(WorkDirBusyError, match=f'in use by another '
                           f'training run \\(pid {proc.pid} on host'):
            with WorkDirLock(str(work)):
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    named = last_named(work)
    assert named is not None and osp.isfile(named)
    assert named.endswith('iter_2.pth')
    assert load_checkpoint_file(named)['meta']['iter'] == 2
    if stall == 'iter_4.pth:mid_write':
        assert any(n.endswith('.tmp') for n in os.listdir(work))
    else:
        assert osp.isfile(work / 'iter_4.pth')

    # the kill released the work dir's lock
    out = finish(start_training(work, opts, resume=True))
    assert 'last_checkpoint names' in out
    if stall == 'iter_4.pth:after_rename':
        assert 'but {} is newer'.format(work / 'iter_4.pth') in out
    assert osp.isfile(work / 'iter_6.pth')
    assert not any(n.endswith('.tmp') for n in os.listdir(work))
    assert checkpoints(work) == ['iter_6.pth']
    mode = os.stat(work / 'iter_6.pth').st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    final = load_checkpoint_file(str(work / 'iter_6.pth'))
    assert final['meta']['iter'] == 6
    assert_same_training_state(uninterrupted, final)


def test_sigterm_saves_at_the_iteration_boundary_and_resumes_exactly(
        rooms, tmp_path, uninterrupted):
    """SIGTERM to the whole process group during iteration 3 (as Slurm
    pre-empts a job; the data loader worker gets it too), checkpoints every
    4 iterations: the run saves iter_3.pth and exits 143 (it used to die at
    once, rc -15, losing iterations 1-3); --resume ends where the
    uninterrupted run did, bit for bit."""
    work = tmp_path / 'work'
    opts = options(rooms, iters=6, interval=4, workers=1,
                   validate=False)
    signalled = dict(opts, **{'default_hooks.signal.type': 'SignalGroupHook',
                              'default_hooks.signal.at': 3,
                              'default_hooks.signal.signame': 'SIGTERM'})
    out = finish(start_training(work, signalled), returncode=143)
    assert f'SIGTERM received: stopped after iteration 3, saved as ' \
        f'{work / "iter_3.pth"}; continue with --resume' in out
    assert checkpoints(work) == ['iter_3.pth']
    assert last_named(work).endswith('iter_3.pth')
    finish(start_training(work, opts, resume=True))
    assert_same_training_state(
        uninterrupted, load_checkpoint_file(str(work / 'iter_6.pth')))


def runner_cfg(rooms, work, iters, validate=False, **kwargs):
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(options(rooms, iters, validate=validate, **kwargs))
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


@HOOKS.register_module()
class ExplodeHook(Hook):
    """Test hook: after iteration ``at`` (1-based), before its checkpoint
    is saved, fills the named parameter with 1e38 (finite weights that make
    the next loss infinite)."""

    priority = 'NORMAL'  # before the checkpoint hook

    def __init__(self, at: int, name: str):
        self.at = at
        self.name = name

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                runner.model.state_dict(keep_vars=True)[self.name].fill_(1e38)


def test_a_loss_that_explodes_keeps_the_checkpoint_before_it(rooms,
                                                             tmp_path):
    """With max_keep_ckpts=1, checkpoints every iteration: iteration 3's
    weights explode (finite), iter_3.pth is saved, iteration 4's loss is
    not finite. iter_2.pth, which mmengine's order (and ours before) had
    rotated out, is still there and is named as the one to resume from."""
    work = tmp_path / 'work'
    cfg = runner_cfg(rooms, work, iters=6, interval=1, keep=1)
    cfg.custom_hooks = [dict(type='ExplodeHook', at=3,
                             name='heads.semseg.cls.weight')]
    with pytest.raises(NonFiniteError) as err:
        SAKRunner.from_cfg(cfg).train()
    message = str(err.value)
    assert message.startswith('iteration 4: non-finite loss')
    assert 'decode.semseg.loss_ce' in message
    assert f'the newest checkpoint, {work / "iter_3.pth"}, holds the ' \
        f'weights this iteration started from, and {work / "iter_2.pth"}, ' \
        f'the newest one a finite loss followed, is kept' in message
    assert checkpoints(work) == ['iter_2.pth', 'iter_3.pth']
    weights = load_checkpoint_file(str(work / 'iter_2.pth'))['state_dict']
    assert all(torch.isfinite(v).all() and v.abs().max() < 1e30
               for v in weights.values() if v.is_floating_point())


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
    assert checkpoints(work) == ['iter_2.pth']


def test_resume_finds_the_newest_checkpoint_without_last_checkpoint(
        rooms, tmp_path):
    work = tmp_path / 'work'
    SAKRunner.from_cfg(runner_cfg(rooms, work, iters=4, keep=3)).train()
    os.remove(work / 'last_checkpoint')
    cfg = runner_cfg(rooms, work, iters=6, keep=3)
    cfg.resume = cfg.resume_allow_changes = True  # a longer run
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 6
    assert load_checkpoint_file(str(work / 'iter_6.pth'))['meta']['iter'] == 6


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



def test_resume_follows_the_newest_checkpoint_of_its_own_work_dir(tmp_path):
    """last_checkpoint naming another run's file, or one older than the
    newest in the work dir, is overridden with a warning naming both (the
    work dir's newer iter_4 was skipped from then on); a missing, empty or
    stale last_checkpoint falls back to the newest checkpoint."""
    work, other = tmp_path / 'work', tmp_path / 'other'
    for path in (work / 'iter_2.pth', work / 'iter_4.pth',
                 other / 'iter_8.pth'):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b'')
    for named, want, overridden, said in [
            (other / 'iter_8.pth', 'iter_4.pth', True, 'outside the work dir'),
            (work / 'iter_2.pth', 'iter_4.pth', True, 'is newer'),
            (work / 'iter_4.pth', 'iter_4.pth', False, 'names'),
            (work / 'iter_99.pth', 'iter_4.pth', False, 'does not exist'),
            ('', 'iter_4.pth', False, 'is empty')]:
        (work / 'last_checkpoint').write_text(str(named))
        path, why, warn = resume_checkpoint(str(work))
        assert (path, warn) == (str(work / want), overridden)
        assert str(named) in why and said in why
    os.remove(work / 'last_checkpoint')
    assert resume_checkpoint(str(work))[0] == str(work / 'iter_4.pth')
    assert resume_checkpoint(str(other / 'empty'))[0] is None


class RecordMetrics(Hook):
    """Test hook: the metrics of every validation."""

    def __init__(self):
        self.metrics = []

    def after_val_epoch(self, runner, metrics=None):
        self.metrics.append(metrics)


@HOOKS.register_module()
class CtrlCInValidationHook(Hook):
    """Test hook: sends this process SIGINT at the first validation batch,
    as Ctrl-C does."""

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_in_the_final_validation_then_resume_validates(rooms,
                                                               tmp_path):
    """Ctrl-C during the final validation lets it finish and ends the run
    with status 130 (SIGINT's handler restored); --resume, at the last
    iteration, runs the final validation, which it used to skip (rc 0 and
    no final metrics)."""
    work = tmp_path / 'work'
    cfg = runner_cfg(rooms, work, iters=2, validate=True)
    cfg.custom_hooks = [dict(type='CtrlCInValidationHook')]
    # the handler the run found (SIG_IGN where a shell started the tests in
    # the background) is the one it leaves
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as stop:
        SAKRunner.from_cfg(cfg).train()
    assert stop.value.code == 130
    assert signal.getsignal(signal.SIGINT) is before
    assert last_named(work).endswith('iter_2.pth')
    cfg = runner_cfg(rooms, work, iters=2, validate=True)
    cfg.resume = True
    runner = SAKRunner.from_cfg(cfg)
    record = RecordMetrics()
    runner.register_hook(record)
    runner.train()
    assert runner.iter == 2
    assert len(record.metrics) == 1 and 'semseg/mIoU' in record.metrics[0]


def test_resume_refuses_a_changed_config_or_a_file_that_does_not_fit(
        rooms, tmp_path):
    """A longer max_iters (the schedule kept its old end: lr 5.4e-4 at the
    end instead of ~0) is named key by key, as a new lr (ignored) or batch
    size (misreplayed) would be (:data:`RESUME_KEYS`); weights of
    other shapes are refused on --resume and load_from, naming the file and
    the keys (mmengine warned, left them at init, and a resume crashed in
    Adam)."""
    work = tmp_path / 'work'
    SAKRunner.from_cfg(runner_cfg(rooms, work, iters=2)).train()
    cfg = runner_cfg(rooms, work, iters=4)
    cfg.resume = True
    with pytest.raises(RuntimeError, match=r'(?s)differs in what the '
                       r'checkpoint restores:.*train_cfg.max_iters: 2 -> 4.*'
                       r'param_scheduler.*resume_allow_changes=True'):
        SAKRunner.from_cfg(cfg).load_or_resume()
    # (resume_allow_changes=True goes on: the tests that extend a run)

    state = load_checkpoint_file(str(work / 'iter_2.pth'))
    weight = state['state_dict']['heads.semseg.cls.weight']
    state['state_dict']['heads.semseg.cls.weight'] = weight[:3]
    other = str(tmp_path / 'other.pth')
    torch.save(state, other)
    shape = re.escape(
        f'{other} does not fit the model: tensors of other shapes (1): '
        f'heads.semseg.cls.weight: file {(3, *weight.shape[1:])} vs model '
        f'{tuple(weight.shape)}. Likely: the same layers at other sizes')
    cfg = runner_cfg(rooms, tmp_path / 'new', iters=6)
    cfg.resume, cfg.load_from = True, other
    with pytest.raises(RuntimeError, match=shape + '.*A resume loads every'):
        SAKRunner.from_cfg(cfg).load_or_resume()
    cfg.resume = False
    with pytest.raises(RuntimeError, match=shape + '.*load_strict=False'):
        SAKRunner.from_cfg(cfg).load_or_resume()
    cfg.load_strict = False
    SAKRunner.from_cfg(cfg).load_or_resume()


def test_the_resume_check_names_a_new_lr_and_batch_size():
    saved = Config.fromfile(DEMO)
    cfg = Config.fromfile(DEMO)
    cfg.optim_wrapper.optimizer.lr = 1.0
    cfg.train_dataloader.batch_size = 2
    changed = changed_for_resume(saved.pretty_text, cfg)
    assert [line.split(':')[0] for line in changed] == [
        'optim_wrapper.optimizer', 'train_dataloader.batch_size']
    assert "'lr': 1.0" in changed[0] and changed[1].endswith('4 -> 2')
    assert changed_for_resume(saved.pretty_text, saved) == []


def _signal_ignoring_worker(training, started):
    ignore_stop_signals(training)
    started.set()
    while True:
        time.sleep(0.05)


def test_workers_ignore_stop_signals_while_training_and_end_quietly_after():
    """A worker ignores SIGTERM while its main process trains; afterwards
    SIGTERM -- how multiprocessing's exit handler stops workers still alive
    at the end of a run -- ends it with status 0, not killed by the signal
    (which torch's SIGCHLD handler reported as a dead DataLoader worker
    after runs that succeeded)."""
    ctx = multiprocessing.get_context('fork')
    training, started = ctx.Event(), ctx.Event()
    training.set()
    worker = ctx.Process(target=_signal_ignoring_worker,
                         args=(training, started), daemon=True)
    worker.start()
    assert started.wait(10)
    os.kill(worker.pid, signal.SIGTERM)
    worker.join(0.5)
    assert worker.is_alive()
    training.clear()
    os.kill(worker.pid, signal.SIGTERM)
    worker.join(10)
    assert worker.exitcode == 0
