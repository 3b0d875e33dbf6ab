# Copyright (c) sak_mm contributors. All rights reserved.
"""What the crash tests' training processes import before
``tools/train.py`` runs: a checkpoint backend that stalls at a chosen
moment of one save, so a test can kill -9 the training process exactly
there, and a hook that has the process group signalled at an iteration, as
a scheduler pre-empting the job does.

``STALL_AT=<file name>:<moment>`` with moment ``before_write`` (nothing of
this file written: the save before it is complete), ``mid_write`` (half of
the temporary file written, not renamed) or ``after_rename`` (the checkpoint
is complete, ``last_checkpoint`` not yet updated); ``STALL_MARK`` is a file
touched when the stall begins.
"""
import os
import os.path as osp
import signal
import time

from mmengine.fileio import register_backend
from mmengine.hooks import Hook

from sak_mm.engine.checkpoint_io import TEMP_SUFFIX, AtomicLocalBackend
from sak_mm.registry import HOOKS


def _stall() -> None:
    with open(os.environ['STALL_MARK'], 'w'):
        pass
    time.sleep(600)


@register_backend('stalling_local')
class StallingBackend(AtomicLocalBackend):

    def put(self, obj, filepath):
        name, moment = os.environ['STALL_AT'].split(':')
        if osp.basename(str(filepath)) != name:
            return super().put(obj, filepath)
        if moment == 'before_write':
            _stall()
        if moment == 'mid_write':
            tmp = osp.join(osp.dirname(str(filepath)),
                           f'.{name}.killed{TEMP_SUFFIX}')
            with open(tmp, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            _stall()
        super().put(obj, filepath)
        if moment == 'after_rename':
            _stall()


@HOOKS.register_module()
class SignalGroupHook(Hook):
    """Sends the signal named ``signame`` (e.g. ``'SIGTERM'``) to the whole
    process group, data loader workers included, at the start of iteration
    ``at`` (1-based), as Slurm does to a pre-empted job."""

    def __init__(self, at: int, signame: str):
        self.at = at
        self.signame = signame

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            os.killpg(os.getpgid(0), getattr(signal, self.signame))
