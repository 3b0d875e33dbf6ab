# Copyright (c) sak_mm contributors. All rights reserved.
"""The one contract of a model's multi-task decoder.

A decoder takes the backbone's levels (and, optionally, a set of levels per
task, such as the SAK student's MoR mixtures) and returns every task's
logits; it owns its losses and the ground-truth stacking they need, and
turns logits into per-sample predictions. Two implementations live in the
core and the projects:

* :class:`TaskHeads`: one independent head per task (the SAK heads);
* a shared trunk with task branches, e.g. ``projects/fgmoe``'s
  ``FGMoEDecoder``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.structures import PixelData

from sak_mm.registry import MODELS
from sak_mm.structures import MultiTaskDataSample
from .base_task_head import BaseTaskHead

Levels = List[torch.Tensor]


def samples_for(inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> list:
    """``data_samples`` with ``batch_input_shape`` set, or plain samples
    describing ``inputs`` (unpadded, not rescaled) when there are none."""
    if data_samples is None:
        h, w = inputs.shape[-2:]
        data_samples = [
            MultiTaskDataSample(metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_offset=(0, 0)))
            for _ in range(inputs.shape[0])
        ]
    for sample in data_samples:
        # (``metainfo`` is a fresh dict at every access: set it, not the copy)
        if 'batch_input_shape' not in sample.metainfo:
            sample.set_metainfo(
                dict(batch_input_shape=tuple(inputs.shape[-2:])))
    return list(data_samples)


class BaseMultiTaskDecoder(nn.Module):
    """Features in; every task's logits, losses and predictions out.

    .. code:: text

        forward(feats, task_feats=None)        -> {task: logits (B, C, h, w)}
        loss(feats, data_samples, task_feats)  -> {'<task>.loss_*': ...,
                                                   '<aux>.loss_*': ...}
        predict_by_feat(logits, data_samples)  -> data_samples with .pred

    ``feats`` are the shared levels (a list of ``(B, C_i, h_i, w_i)``);
    ``task_feats`` optionally gives each task its own levels (the SAK
    student's MoR mixtures). The model prefixes the loss keys with
    ``decode.``. Each task's loss and activation belong to a
    :class:`BaseTaskHead` (:meth:`task_head`), which stacks that task's labels
    from the data samples; a decoder may add auxiliary losses under its own
    name.
    """

    tasks: List[str]

    def task_head(self, task: str) -> BaseTaskHead:
        """The module owning ``task``'s loss and prediction."""
        raise NotImplementedError

    def forward(self, feats: Levels,
                task_feats: Optional[Dict[str, Levels]] = None
                ) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, feats: Levels, data_samples: list,
             task_feats: Optional[Dict[str, Levels]] = None
             ) -> Dict[str, torch.Tensor]:
        return self.loss_by_feat(self(feats, task_feats), data_samples)

    def loss_by_feat(self, logits: Dict[str, torch.Tensor],
                     data_samples: list) -> Dict[str, torch.Tensor]:
        """Every task's loss of its logits against the batch's labels."""
        losses = {}
        for task in self.tasks:
            for name, value in self.task_head(task).loss_by_samples(
                    logits[task], data_samples).items():
                losses[f'{task}.{name}'] = value
        return losses

    def predict_by_feat(self, logits: Dict[str, torch.Tensor],
                        data_samples: list) -> list:
        """Set each sample's ``pred`` (every task, original geometry, each
        field's activation applied); ``data_samples`` must carry
        ``batch_input_shape`` (:func:`samples_for`)."""
        metas = [s.metainfo for s in data_samples]
        preds = {
            t: self.task_head(t).predict_by_feat(logits[t], metas)
            for t in self.tasks
        }
        for i, sample in enumerate(data_samples):
            sample.pred = PixelData(**{t: preds[t][i] for t in self.tasks})
        return data_samples

    def compile_targets(self) -> List[nn.Module]:
        """The modules whose calls ``torch.compile`` should wrap (a model's
        ``compile=dict(student=...)``): the decoder itself by default, so a
        decoder's ``loss`` must go through its ``__call__``."""
        return [self]

    def named_routers(self):
        """``(name, router)`` of the decoder's top-K expert routers, if it
        routes tokens to experts (none by default): what
        :class:`~sak_mm.engine.hooks.ExpertUsageHook` records. A router's
        forward returns the kept gates and their expert indices, both
        ``(B, N, K)``, first; it has ``num_experts``."""
        return iter(())

    def out_channels(self) -> Dict[str, int]:
        """Each task's number of output channels."""
        return {t: self.task_head(t).out_channels for t in self.tasks}


@MODELS.register_module()
class TaskHeads(BaseMultiTaskDecoder):
    """One independent head per task (the SAK decoder): task ``t``'s head
    decodes ``task_feats[t]`` when given, else the shared ``feats``.

    The heads are this module's children, named by task, so their state-dict
    keys are ``<task>.<...>`` under the model's ``heads`` attribute.

    Args:
        heads (dict): ``{task: head config}``; ``task`` and ``in_channels``
            are filled in.
        in_channels (int): Feature width given to every head.
    """

    def __init__(self, heads: Dict[str, dict], in_channels: int):
        super().__init__()
        if not heads:
            raise ValueError('TaskHeads needs at least one head')
        self.tasks = list(heads)
        for task, cfg in heads.items():
            if not isinstance(cfg, dict):
                raise TypeError(
                    f'heads.{task} is {cfg!r}, not a head config; to leave a '
                    f'task out, list the others in the model\'s tasks (e.g. '
                    f'tasks={[t for t in heads if t != task]})')
            self.add_module(
                task, MODELS.build(dict(cfg, task=task,
                                        in_channels=in_channels)))

    def task_head(self, task: str) -> BaseTaskHead:
        return getattr(self, task)

    def __getitem__(self, task: str) -> BaseTaskHead:
        return self.task_head(task)

    def items(self):
        return ((t, self.task_head(t)) for t in self.tasks)

    def compile_targets(self) -> List[nn.Module]:
        return [self.task_head(t) for t in self.tasks]  # each head's call

    def _inputs(self, feats, task_feats, task):
        return feats if task_feats is None else task_feats[task]

    def forward(self, feats, task_feats=None):
        return {
            t: self.task_head(t)(self._inputs(feats, task_feats, t))
            for t in self.tasks
        }

    def loss(self, feats, data_samples, task_feats=None):
        losses = {}
        for t in self.tasks:
            for name, value in self.task_head(t).loss(
                    self._inputs(feats, task_feats, t), data_samples).items():
                losses[f'{t}.{name}'] = value
        return losses
