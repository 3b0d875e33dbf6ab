# Copyright (c) sak_mm contributors. All rights reserved.
"""Checkpointing that never loses the last good checkpoint."""
import math
import os.path as osp
from typing import List

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS
from ..checkpoint_io import (fsync_dir, list_checkpoints, remove_stale_temps,
                             write_atomic)


class NonFiniteError(RuntimeError):
    """Training produced a NaN or infinite loss or weight."""


def _last_good(runner) -> str:
    last = runner.message_hub.get_info('last_ckpt')
    return (f'the last good checkpoint is {last}' if last else
            'no checkpoint was written yet')


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
                f'training stopped before saving these weights, and '
                f'{_last_good(runner)} (continue from it with --resume once '
                f'the cause, e.g. the learning rate or the data, is fixed)')


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook`, in an order that
    a kill at any moment, or a NaN, cannot cost the last good checkpoint.

    .. code:: text

        weights finite?  (else stop, naming them and the last good one)
        write iter_<n>.pth (atomic with backend 'atomic_local')
        write last_checkpoint (atomic)
        only then delete the checkpoints max_keep_ckpts rotates out

    (mmengine deletes the oldest checkpoint *before* writing the new one.)
    When training starts it deletes the temporary files a killed save left,
    and it refuses to train from iteration 0 over the checkpoints of an
    earlier run in the same folder.

    Args:
        overwrite (bool): Allow a run that starts at iteration 0 to write
            over existing checkpoints.
        **kwargs: :class:`~mmengine.hooks.CheckpointHook`'s arguments.
    """

    def __init__(self, *args, overwrite: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.overwrite = overwrite

    def before_train(self, runner) -> None:
        super().before_train(runner)
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

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        bad = non_finite_weights(runner.model)
        if bad:
            raise NonFiniteError(
                f'not saving checkpoint {step}: {len(bad)} weights hold NaN or '
                f'infinite values (first: {bad[:5]}); {_last_good(runner)}')
        obsolete = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                obsolete.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
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
        if not is_main_process():
            return
        write_atomic(self.last_ckpt.encode(),
                     osp.join(runner.work_dir, 'last_checkpoint'))
        for old in obsolete:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints
                self.file_backend.rmtree(path)
        if obsolete and osp.isdir(self.out_dir):
            fsync_dir(self.out_dir)
