# Copyright (c) sak_mm contributors. All rights reserved.
"""mmengine's Runner with checked configs, weights-only checkpoints, a
--resume that finds the newest checkpoint, and distributed training on
CPUs."""
import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from sak_mm.registry import MODEL_WRAPPERS, RUNNERS
from sak_mm.utils.config_check import check_config
from sak_mm.utils.runtime import apply_speed_switch, apply_task_switch
from .checkpoint_io import from_plain, resume_checkpoint, to_plain


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


@RUNNERS.register_module()
class SAKRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner`, whose checkpoints need
    no unsafe unpickling.

    It saves ``meta`` and the message hub as plain data
    (:class:`PlainCheckpointStateHook`); every checkpoint it loads
    (``load_from``, ``--resume``, ``tools/test.py``) is read with
    :func:`~sak_mm.utils.read_checkpoint`, mmengine's checkpoint loader
    once :mod:`sak_mm.utils` is imported. ``--resume``
    without a path falls back to the newest checkpoint in the work dir when
    ``last_checkpoint`` is missing or stale (:meth:`load_or_resume`).
    Distributed training also runs on CPUs (gloo, :meth:`setup_env`,
    :meth:`wrap_model`). A config is checked before anything is built
    (:meth:`from_cfg`). ``configs/_base_/default_runtime.py`` selects it
    (``runner_type``); ``tools/train.py`` and ``tools/test.py`` use it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_hook(PlainCheckpointStateHook())

    @classmethod
    def from_cfg(cls, cfg) -> 'SAKRunner':
        """mmengine's, after :func:`~sak_mm.utils.config_check.check_config`
        has found no key that nothing reads and no wrong argument, with the
        speed layer applied if the config switches it on
        (``fused_kernels``, :func:`sak_mm.ops.apply_speed_layer`) and the
        config's ``tasks`` passed on (:func:`~sak_mm.utils.apply_task_switch`)."""
        check_config(apply_task_switch(apply_speed_switch(cfg)))
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

    def load_or_resume(self) -> None:
        """``--resume`` without a checkpoint path continues from the one
        ``last_checkpoint`` names, or, when that file is missing, empty or
        names a deleted file, from the newest checkpoint in the work dir,
        saying which (mmengine would restart from iteration 0)."""
        if not self._has_loaded and self._resume and self._load_from is None:
            path, why = resume_checkpoint(self.work_dir)
            self.logger.info(f'resume: {why}')
            if path is None:
                self.logger.warning('resume: starting from iteration 0')
                self._resume = False
            else:
                self._load_from = path
        return super().load_or_resume()
