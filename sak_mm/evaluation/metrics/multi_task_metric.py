# Copyright (c) sak_mm contributors. All rights reserved.
"""All task metrics of a model plus the multi-task gain."""
import logging
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from sak_mm.registry import METRICS


def mtl_gain(results: Dict[str, float], reference: Dict[str, float],
             lower_is_better: Sequence[str]) -> float:
    """Multi-task gain (Maninis et al., 2019), in percent:

    ``Delta_m = 100 / T * sum_t (-1)^{l_t} (M_t - M_ref,t) / M_ref,t``

    with ``l_t = 1`` for metrics where lower is better, over the metrics of
    ``reference`` that ``results`` has.
    """
    keys = [k for k in reference if k in results]
    if not keys:
        raise KeyError(f'no result matches the MTL-gain reference '
                       f'{sorted(reference)}; results: {sorted(results)}')
    total = 0.0
    for key in keys:
        rel = (results[key] - reference[key]) / reference[key]
        total += -rel if key in lower_is_better else rel
    return 100.0 * total / len(keys)


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Runs one metric per task and adds ``mtl/delta_m``.

    Args:
        task_metrics (dict): ``{task: metric config}``; each metric reports
            ``{task}/{name}``.
        reference (dict, optional): Single-task baseline numbers keyed like
            the results, e.g. ``{'semseg/mIoU': 54.19, 'depth/RMSE': 0.556}``.
            Without it no gain is reported; metrics it names that have no
            result are left out of the gain (with a warning).
        lower_is_better (Sequence[str]): Result keys where lower is better.
    """

    default_prefix = 'mtl'

    def __init__(self,
                 task_metrics: Dict[str, dict],
                 reference: Optional[Dict[str, float]] = None,
                 lower_is_better: Sequence[str] = ('depth/RMSE',
                                                   'normals/mErr'),
                 collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device)
        self.metrics: List[BaseMetric] = [
            METRICS.build(dict(cfg, task=task))
            for task, cfg in task_metrics.items()
        ]
        self.reference = dict(reference or {})
        self.lower_is_better = tuple(lower_is_better)

    @property
    def dataset_meta(self):
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta):
        self._dataset_meta = meta
        for m in self.metrics:
            m.dataset_meta = meta

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for m in self.metrics:
            m.process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        raise NotImplementedError('MultiTaskMetric delegates to its task '
                                  'metrics in evaluate()')

    def evaluate(self, size: int) -> dict:
        out = {}
        for m in self.metrics:
            out.update(m.evaluate(size))
        if self.reference:
            out[f'{self.prefix}/delta_m'] = mtl_gain(out, self.reference,
                                          self.lower_is_better)
            missing = sorted(k for k in self.reference if k not in out)
            if missing:
                print_log(f'{self.prefix}/delta_m is partial: no result for {missing}',
                          logger='current', level=logging.WARNING)
        return out
