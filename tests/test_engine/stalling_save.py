# Copyright (c) sak_mm contributors. All rights reserved.
"""A checkpoint backend that stalls at a chosen moment of one save, so a
test can kill -9 the training process exactly there.

``STALL_AT=<file name>:<moment>`` with moment ``before_write`` (nothing of
this file written: the save before it is complete), ``mid_write`` (half of
the temporary file written, not renamed) or ``after_rename`` (the checkpoint
is complete, ``last_checkpoint`` not yet updated); ``STALL_MARK`` is a file
touched when the stall begins. Imported by the test's launcher before
``tools/train.py`` runs.
"""
import os
import os.path as osp
import time

from mmengine.fileio import register_backend

from sak_mm.engine.checkpoint_io import TEMP_SUFFIX, AtomicLocalBackend


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
