# Copyright (c) sak_mm contributors. All rights reserved.
"""Shared plumbing of the per-task dense metrics."""
from typing import Iterator, Optional, Sequence, Tuple

import torch
from mmengine.evaluator import BaseMetric


class BaseTaskMetric(BaseMetric):
    """A dataset-level metric of one task.

    Subclasses turn each ``(pred, gt)`` pair into a small record of sums in
    :meth:`accumulate` and reduce all records in :meth:`compute_metrics`.
    Results are reported as ``{task}/{metric}``. Samples without the task's
    ground truth are skipped.

    Args:
        task (str): Task (and dense-field) name.
        prefix (str, optional): Defaults to ``task``.
    """

    #: names of this metric's results where a lower value is better (the
    #: direction of the multi-task gain)
    lower_is_better: Tuple[str, ...] = ()

    def __init__(self, task: str, prefix: Optional[str] = None,
                 collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix or task)
        self.task = task

    def _pairs(self, data_samples: Sequence[dict]
               ) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        for sample in data_samples:
            gt = sample.get('gt', {})
            if self.task not in gt:
                continue
            pred = sample['pred'][self.task]
            target = gt[self.task].to(pred.device)
            if pred.shape[-2:] != target.shape[-2:]:
                raise ValueError(
                    f'{self.task}: prediction {tuple(pred.shape)} and ground '
                    f'truth {tuple(target.shape)} of {sample.get("img_path")} '
                    f'differ in size')
            yield pred, target

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for pred, gt in self._pairs(data_samples):
            self.results.append(self.accumulate(pred, gt))

    def accumulate(self, pred: torch.Tensor, gt: torch.Tensor):
        raise NotImplementedError
