# Copyright (c) sak_mm contributors. All rights reserved.
"""mmengine's Runner with checked configs, weights-only checkpoints, an
honest --resume, pre-emption, one run per work dir, and distributed
training on CPUs."""
import re
from collections import OrderedDict
from contextlib import nullcontext
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader, Runner

from sak_mm.registry import MODEL_WRAPPERS, RUNNERS
from sak_mm.utils.config_check import check_config, value_at
from sak_mm.utils.model_cfg import check_weight_files
from sak_mm.utils.runtime import apply_speed_switch, apply_task_switch
from sak_mm.utils.state_dict_mismatch import listed, load_state_dict_checked
from sak_mm.utils.stop_signals import IgnoreStopSignals, StopSignals
from .checkpoint_io import from_plain, resume_checkpoint, to_plain
from .work_dir_lock import WorkDirLock

#: config entries whose change between a checkpoint and its resume would be
#: ignored (the optimizer and schedulers come back as saved) or misapplied
#: (the data loader is replayed in batches of the new size)
RESUME_KEYS = ('train_cfg.max_iters', 'train_cfg.max_epochs',
               'optim_wrapper.optimizer', 'param_scheduler',
               'train_dataloader.batch_size')


class PlainCheckpointStateHook(Hook):
    """Writes what a checkpoint holds beside the weights (``meta``, the
    message hub's history buffers) as plain lists and numbers, and turns
    the history buffers back when a checkpoint is loaded."""

    priority = 'VERY_LOW'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('meta', 'message_hub'):
            if key in checkpoint:
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])


class FinalValidationHook(Hook):
    """Runs the final validation of a run resumed at its last iteration (it
    was stopped after its last checkpoint and before or during that
    validation, whose metrics were otherwise never produced)."""

    priority = 'VERY_LOW'

    def __init__(self):
        self._start_iter = 0

    def before_train(self, runner) -> None:
        self._start_iter = runner.iter

    def after_train(self, runner) -> None:
        loop = runner.train_loop
        if (runner.val_loop is None or self._start_iter < runner.max_iters
                or runner.iter < getattr(loop, 'val_begin', 1)):
            return
        runner.logger.info(
            f'resumed at the final iteration ({runner.iter}): running the '
            f'final validation (a run stopped after its last checkpoint had '
            f'not produced it, or this repeats it)')
        runner.val_loop.run()


def changed_for_resume(saved_cfg: str, cfg) -> List[str]:
    """The :data:`RESUME_KEYS` whose value in ``cfg`` differs from the one
    in a checkpoint's config (its ``meta['cfg']`` text), as
    ``'key: saved -> now'`` lines."""
    saved = Config.fromstring(saved_cfg, file_format='.py')
    lines = []
    for key in RESUME_KEYS:
        before, now = value_at(saved, key), value_at(cfg, key)
        if before != now:
            lines.append(f'{key}: {before!r} -> {now!r}')
    return lines


def revised_state_dict(checkpoint: dict, revise_keys) -> OrderedDict:
    """A checkpoint's weights with ``revise_keys`` (``(pattern,
    replacement)`` pairs) applied to their names, as mmengine loads them."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, replacement, k), v) for k, v in state_dict.items())
    state_dict._metadata = metadata
    return state_dict


@RUNNERS.register_module()
class SAKRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, whose checkpoints need
    no unsafe unpickling.

    It saves ``meta`` and the message hub as plain data
    (:class:`PlainCheckpointStateHook`); every checkpoint it loads
    (``load_from``, ``--resume``, ``tools/test.py``) is read with
    :func:`~sak_mm.utils.read_checkpoint`, mmengine's checkpoint loader
    once :mod:`sak_mm` is imported. ``--resume``
    without a path falls back to the newest checkpoint in the work dir when
    ``last_checkpoint`` is missing or stale (:meth:`load_or_resume`), loads
    strictly and refuses a changed config (:meth:`load_checkpoint`), and
    validates a run resumed at its end (:class:`FinalValidationHook`).
    Training holds the work dir and saves on SIGTERM / SIGINT
    (:meth:`train`). Distributed training also runs on CPUs (gloo,
    :meth:`setup_env`,
    :meth:`wrap_model`). A config is checked before anything is built
    (:meth:`from_cfg`). ``configs/_base_/default_runtime.py`` selects it
    (``runner_type``); ``tools/train.py`` and ``tools/test.py`` use it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_hook(PlainCheckpointStateHook())
        self.register_hook(FinalValidationHook())
        self.stop_signals: Optional[StopSignals] = None
        self._resuming = False

    def train(self):
        """mmengine's, holding the work dir
        (:class:`~sak_mm.engine.work_dir_lock.WorkDirLock`: a second run
        there is refused) and recording SIGTERM / SIGINT
        (:class:`~sak_mm.utils.stop_signals.StopSignals`), on which
        ``SafeCheckpointHook`` saves at the end of the iteration and ends
        the process."""
        lock = WorkDirLock(self.work_dir, self.logger) if \
            is_main_process() else nullcontext()
        with lock, StopSignals() as self.stop_signals:
            try:
                return super().train()
            finally:
                self.stop_signals = None

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """mmengine's, with workers that ignore SIGTERM and SIGINT
        (:class:`~sak_mm.utils.stop_signals.IgnoreStopSignals`): a
        scheduler signals every process of a job, and a worker killed by it
        would end training before the pre-emption checkpoint is saved."""
        loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        if isinstance(dataloader, dict) and loader.num_workers > 0:
            loader.worker_init_fn = IgnoreStopSignals(loader.worker_init_fn)
        return loader

    @classmethod
    def from_cfg(cls, cfg) -> 'SAKRunner':
        """mmengine's, after :func:`~sak_mm.utils.config_check.check_config`
        has found no key that nothing reads and no wrong argument, with the
        speed layer applied if the config switches it on
        (``fused_kernels``, :func:`sak_mm.ops.apply_speed_layer`) and the
        config's ``tasks`` passed on (:func:`~sak_mm.utils.apply_task_switch`),
        and with every weight file the model reads when built present
        (:func:`~sak_mm.utils.check_weight_files` lists the missing ones;
        ``tools/train.py`` checks the files training reads as well)."""
        check_config(apply_task_switch(apply_speed_switch(cfg)))
        check_weight_files(cfg, training=False)
        return super().from_cfg(cfg)

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's, except that a distributed run on a machine without
        CUDA joins its process group over gloo (mmengine's launcher calls
        ``torch.cuda.set_device`` whatever the backend)."""
        if self.distributed and not torch.cuda.is_available() and \
                not torch_dist.is_initialized():
            torch_dist.init_process_group(backend='gloo')
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        """mmengine's, except for distributed training on CPUs: DDP without
        device ids, no SyncBN (it needs a GPU; BN statistics are broadcast
        from rank 0 each forward instead, so the replicas stay
        identical)."""
        if not self.distributed or torch.cuda.is_available() or \
                is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        if self.cfg.get('sync_bn') is not None:
            self.logger.warning('sync_bn needs GPUs: on CPUs the BN '
                                'statistics of rank 0 are broadcast instead')
        cfg = dict(model_wrapper_cfg or {})
        cfg.setdefault('type', 'MMDistributedDataParallel')
        cfg.setdefault('broadcast_buffers', True)
        cfg.setdefault('find_unused_parameters',
                       self.cfg.get('find_unused_parameters', False))
        return MODEL_WRAPPERS.build(
            cfg, default_args=dict(module=model.to('cpu'), device_ids=None))

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's, loading the weights strictly and refusing a config
        that changed what a resume keeps (:meth:`load_checkpoint`)."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self, filename: str, map_location='cpu',
                        strict: bool = False,
                        revise_keys=[(r'^module.', '')]):
        """mmengine's, refusing a file that does not fit, with its name and
        the first mismatched keys (mmengine warned and went on, leaving
        those weights at init, and a resume then crashed inside the
        optimizer).

        On ``--resume`` (and with ``strict=True``) every key must match in
        name and shape, and the config may not change what the checkpoint
        restores (:data:`RESUME_KEYS`: max_iters, the optimizer, the
        schedulers, the batch size) unless ``resume_allow_changes=True``.
        For ``load_from``, keys the file lacks are listed in the log (a
        stage-1 file has no task heads), while tensors of other shapes and
        keys the model lacks are refused unless ``load_strict=False``.
        """
        whole = strict or self._resuming
        if not (whole or self.cfg.get('load_strict', True)):
            return super().load_checkpoint(filename, map_location, False,
                                           revise_keys)
        how = (' A resume loads every weight of the same model: resume a '
               'checkpoint of this config, or start from it with load_from.'
               if self._resuming else ' Give a checkpoint trained with this '
               'config.' if whole else ' Load it anyway, leaving those '
               'weights at init, with --cfg-options load_strict=False.')
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else \
            self.model
        try:
            missing = load_state_dict_checked(
                model, revised_state_dict(checkpoint, revise_keys), filename,
                allow_missing=not whole)
        except RuntimeError as error:
            raise RuntimeError(f'{error}{how}') from None
        if missing:
            self.logger.warning(
                f'{filename} holds no weights for ' +
                listed('keys of the model', missing) +
                ', left as initialised')
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        if self._resuming:
            self._check_resumed_config(filename, checkpoint)
        return checkpoint

    def _check_resumed_config(self, filename: str, checkpoint: dict) -> None:
        saved = checkpoint.get('meta', {}).get('cfg')
        if not saved:
            return
        try:
            changed = changed_for_resume(saved, self.cfg)
        except Exception as error:  # a config text mmengine cannot re-read
            self.logger.warning(f'resume: cannot compare the config saved in '
                                f'{filename} with this one ({error})')
            return
        if not changed:
            return
        message = (
            f'resuming {filename} with a config that differs in what the '
            f'checkpoint restores:\n  ' + '\n  '.join(changed) +
            '\nThe optimizer (learning rate included) and the schedulers '
            'continue as saved, and the data loader is replayed in batches '
            'of the new size')
        if not self.cfg.get('resume_allow_changes', False):
            raise RuntimeError(
                f'{message}. Resume with the saved config, start a new run '
                f'from the checkpoint with load_from, or go on this way with '
                f'--cfg-options resume_allow_changes=True')
        self.logger.warning(f'{message} (resume_allow_changes=True)')

    def load_or_resume(self) -> None:
        """``--resume`` without a checkpoint path continues from the one
        ``last_checkpoint`` names, or, when that file is missing, empty,
        names a deleted file, a file outside the work dir or one older than
        the newest checkpoint there, from the newest checkpoint in the work
        dir, saying which (:func:`~.checkpoint_io.resume_checkpoint`;
        mmengine would restart from iteration 0, or follow the file)."""
        if not self._has_loaded and self._resume and self._load_from is None:
            path, why, overridden = resume_checkpoint(self.work_dir)
            (self.logger.warning if overridden else self.logger.info)(
                f'resume: {why}')
            if path is None:
                self.logger.warning('resume: starting from iteration 0')
                self._resume = False
            else:
                self._load_from = path
        return super().load_or_resume()
