# Copyright (c) sak_mm contributors. All rights reserved.
"""Checkpointing that never loses the last good checkpoint, and that saves
on pre-emption."""
import math
import os.path as osp
import signal
from typing import List

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS
from sak_mm.utils.stop_signals import stop_requested
from ..checkpoint_io import (fsync_dir, list_checkpoints, remove_stale_temps,
                             write_atomic)

#: message hub key of the checkpoints a save rotated out, deleted once the
#: next iteration's loss is finite (saved in checkpoints, so a resumed run
#: deletes them too)
TO_REMOVE = 'ckpts_to_remove'


class NonFiniteError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


def _last_good(runner) -> str:
    """Which checkpoints a stopped run leaves, and which is good."""
    last = runner.message_hub.get_info('last_ckpt')
    if not last:
        return 'no checkpoint was written yet'
    kept = runner.message_hub.get_info(TO_REMOVE) or []
    if not kept:
        return f'the last good checkpoint is {last}'
    previous = osp.join(osp.dirname(last), kept[-1])
    return (f'the newest checkpoint, {last}, holds the weights this '
            f'iteration started from, and {previous}, the newest one a '
            f'finite loss followed, is kept (resume from it with --resume '
            f'{previous})')


def non_finite_weights(model) -> List[str]:
    """Names of the floating-point parameters and buffers of ``model`` that
    hold a NaN or an infinity."""
    if is_model_wrapper(model):
        model = model.module
    return [
        name for name, value in model.state_dict().items()
        if torch.is_tensor(value) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training at the first iteration whose loss is NaN or infinite,
    with a message naming the iteration, the loss entries and the last good
    checkpoint. It runs before the checkpoint hook, so the weights of that
    iteration are never saved."""

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        losses = {
            key: float(value.detach() if torch.is_tensor(value) else value)
            for key, value in (outputs or {}).items() if 'loss' in key
        }
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise NonFiniteError(
                f'iteration {runner.iter + 1}: non-finite loss {bad}; '
                f'training stopped before saving these weights; '
                f'{_last_good(runner)}. Fix the cause (e.g. the learning '
                f'rate or the data) before continuing with --resume')


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook`, in an order that
    a kill at any moment, or a NaN, cannot cost the last good checkpoint,
    and that saves when the run is pre-empted.

    .. code:: text

        weights finite?  (else stop, naming them and the last good one)
        write iter_<n>.pth (atomic with backend 'atomic_local')
        write last_checkpoint (atomic)
        the checkpoints max_keep_ckpts rotates out are deleted once the
        next iteration's loss is finite (FiniteLossHook runs first), or
        when training ends

    (mmengine deletes the oldest checkpoint *before* writing the new one.)
    So a loss that turns NaN right after a save, from weights that had
    exploded, leaves that save and the one before it. When training starts
    it deletes the temporary files a killed save left, and it refuses to
    train from iteration 0 over the checkpoints of an earlier run in the
    same folder.

    On SIGTERM or SIGINT (recorded by :class:`~sak_mm.engine.SAKRunner`,
    :mod:`sak_mm.utils.stop_signals`) it saves at the end of the iteration
    in progress, or of the validation in progress, logs it and ends the
    process with status 128 + the signal's number.

    Args:
        overwrite (bool): Allow a run that starts at iteration 0 to write
            over existing checkpoints.
        **kwargs: :class:`~mmengine.hooks.CheckpointHook`'s arguments.
    """

    def __init__(self, *args, overwrite: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.overwrite = overwrite
        self.to_remove: List[str] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self.to_remove = list(runner.message_hub.get_info(TO_REMOVE) or [])
        if not is_main_process():
            return
        for path in remove_stale_temps(self.out_dir) + remove_stale_temps(
                runner.work_dir):
            runner.logger.warning(
                f'removed {path}, left by a save that was interrupted')
        existing = list_checkpoints(self.out_dir)
        if runner.iter == 0 and existing and not self.overwrite:
            names = ', '.join(osp.basename(p) for p in existing[-3:])
            raise FileExistsError(
                f'{self.out_dir} already holds checkpoints ({names}) and this '
                f'run starts at iteration 0: continue them with --resume, '
                f'train into another --work-dir, or write over them with '
                f'--cfg-options default_hooks.checkpoint.overwrite=True')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        # this iteration's loss was finite (FiniteLossHook runs first)
        self._remove_rotated_out(runner)
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if not self.by_epoch:
            self._stop_if_signalled(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        super().after_train_epoch(runner)
        if self.by_epoch:
            self._stop_if_signalled(runner, runner.epoch + 1)

    def after_val_epoch(self, runner, metrics) -> None:
        super().after_val_epoch(runner, metrics)
        if getattr(runner, 'stop_signals', None) is not None:  # training
            self._stop_if_signalled(
                runner, runner.epoch if self.by_epoch else runner.iter)

    def after_train(self, runner) -> None:
        super().after_train(runner)
        self._remove_rotated_out(runner)  # the run is complete

    def _stop_if_signalled(self, runner, step: int) -> None:
        """Save at ``step`` (unless saved already) and end the process if a
        stop signal arrived, in any process of the run."""
        signum = stop_requested(runner)
        if signum is None:
            return
        name = signal.Signals(signum).name
        saved = self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(step))
        if self.last_ckpt != saved:
            meta = dict(epoch=step, iter=runner.iter) if self.by_epoch \
                else dict(epoch=runner.epoch, iter=step)
            self._save_checkpoint_with_step(runner, step, meta)
        barrier()  # no rank ends (and gets its launcher to kill rank 0)
        # while rank 0 is still writing
        unit = 'epoch' if self.by_epoch else 'iteration'
        runner.logger.warning(f'{name} received: stopped after {unit} {step}, '
                              f'saved as {saved}; continue with --resume')
        raise SystemExit(128 + signum)

    def _remove_rotated_out(self, runner) -> None:
        if not self.to_remove:
            return
        if is_main_process():
            for name in self.to_remove:
                path = self.file_backend.join_path(self.out_dir, name)
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):  # deepspeed checkpoints
                    self.file_backend.rmtree(path)
            if osp.isdir(self.out_dir):
                fsync_dir(self.out_dir)
        self.to_remove = []
        runner.message_hub.update_info(TO_REMOVE, [])

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        bad = non_finite_weights(runner.model)
        if bad:
            raise NonFiniteError(
                f'not saving checkpoint {step}: {len(bad)} weights hold NaN or '
                f'infinite values (first: {bad[:5]}); {_last_good(runner)}')
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                self.to_remove.append(
                    self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
            runner.message_hub.update_info(TO_REMOVE, list(self.to_remove))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if is_main_process():
            write_atomic(self.last_ckpt.encode(),
                         osp.join(runner.work_dir, 'last_checkpoint'))
