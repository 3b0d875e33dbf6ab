# Copyright (c) sak_mm contributors. All rights reserved.
"""torch's generator states in every checkpoint, for an exact resume."""
from typing import Optional

import torch
from mmengine.hooks import Hook

from sak_mm.registry import HOOKS


def torch_rng_state() -> dict:
    """torch's CPU generator state and, where CUDA is in use, each GPU's."""
    state = dict(cpu=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_torch_rng_state(state: dict) -> None:
    """Undo :func:`torch_rng_state` (the GPU states only onto as many
    GPUs)."""
    torch.set_rng_state(state['cpu'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves torch's generator states in each checkpoint and, after a
    resume, restores them just before the first resumed iteration's
    forward pass.

    A checkpoint is saved at the end of an iteration, so its states are the
    ones the next iteration starts from: the model's draws (the MoR noisy
    gating, drop-path) repeat, and in deterministic mode a resumed run
    repeats the uninterrupted one bit for bit. The data pipeline's draws
    (numpy, Python's ``random``) are not restored: the train loop replays
    the data loader to its position on resume, which repeats them, in the
    workers or in the main process (the transforms draw from numpy, not
    torch). Under DDP the main process's states are saved and every rank
    restores them (ranks are seeded alike by default).
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['torch_rng_state'] = torch_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('torch_rng_state')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self._pending is not None:
            set_torch_rng_state(self._pending)
            self._pending = None
