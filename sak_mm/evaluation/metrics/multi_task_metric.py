# Copyright (c) sak_mm contributors. All rights reserved.
"""All task metrics of a model plus the multi-task gain."""
import inspect
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from sak_mm.registry import METRICS
from .base_task_metric import BaseTaskMetric


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


def lower_is_better_results() -> Tuple[str, ...]:
    """``{task}/{result}`` keys where lower is better, as the registered
    task metrics declare them for their default task (e.g.
    ``'depth/RMSE'``)."""
    keys = []
    for cls in METRICS.module_dict.values():
        if not issubclass(cls, BaseTaskMetric):
            continue
        task = inspect.signature(cls).parameters.get('task')
        if task is not None and task.default is not inspect.Parameter.empty:
            keys += [f'{task.default}/{name}' for name in cls.lower_is_better]
    return tuple(sorted(keys))


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Runs one metric per task and adds ``mtl/delta_m``.

    The tasks scored are those the dataset loads (its ``metainfo['tasks']``,
    given by the evaluation loop), each with its metric from
    ``task_metrics``; a dataset without that list gets every metric. So a
    single-task config restricts the dataset's ``tasks`` and nothing here.

    Args:
        task_metrics (dict): ``{task: metric config}``; each metric reports
            ``{task}/{name}`` and says which of its results are better when
            lower (``lower_is_better``).
        reference (dict, optional): Single-task baseline numbers keyed like
            the results, e.g. ``{'semseg/mIoU': 54.19, 'depth/RMSE': 0.556}``;
            the gain is taken over the scored tasks' entries. Without it no
            gain is reported; entries of scored tasks that have no result
            are left out of the gain (with a warning).
    """

    default_prefix = 'mtl'

    def __init__(self,
                 task_metrics: Dict[str, dict],
                 reference: Optional[Dict[str, float]] = None,
                 collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device)
        self.all_metrics: Dict[str, BaseMetric] = {
            task: METRICS.build(dict(cfg, task=task))
            for task, cfg in task_metrics.items()
        }
        self.metrics: List[BaseMetric] = list(self.all_metrics.values())
        self.reference = dict(reference or {})
        self.lower_is_better = tuple(
            f'{m.prefix}/{name}' for m in self.metrics
            for name in getattr(m, 'lower_is_better', ()))

    @property
    def dataset_meta(self):
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta):
        self._dataset_meta = meta
        tasks = (meta or {}).get('tasks')
        if tasks is not None:
            missing = [t for t in tasks if t not in self.all_metrics]
            if missing:
                raise KeyError(
                    f'the dataset loads task(s) {missing} but task_metrics '
                    f'has no metric for them (it has '
                    f'{sorted(self.all_metrics)})')
            self.metrics = [self.all_metrics[t] for t in tasks]
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
        scored = tuple(f'{m.prefix}/' for m in self.metrics)
        reference = {k: v for k, v in self.reference.items()
                     if k.startswith(scored)}
        if reference:
            out[f'{self.prefix}/delta_m'] = mtl_gain(out, reference,
                                                     self.lower_is_better)
            missing = sorted(k for k in reference if k not in out)
            if missing:
                print_log(f'{self.prefix}/delta_m is partial: no result for {missing}',
                          logger='current', level=logging.WARNING)
        return out
