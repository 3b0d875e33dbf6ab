# Copyright (c) sak_mm contributors. All rights reserved.
"""Boundary odsF / oisF / AP (SEISM protocol) as an mmengine metric."""
from typing import Optional, Sequence

import numpy as np

from sak_mm.fileio import read_label_map
from sak_mm.registry import METRICS
from ..boundary import check_backend, evaluate_images, seg2bmap, thin
from .base_task_metric import BaseTaskMetric


def _label_map_boundaries(path: str, backend: str) -> np.ndarray:
    return thin(seg2bmap(read_label_map(path)), backend)


@METRICS.register_module()
class BoundaryMetric(BaseTaskMetric):
    """Optimal-dataset-scale F-measure of boundary detection, in percent.

    Predictions are turned into 8-bit maps as the SAK reference saves them
    (``uint8(p * 255)``), suppressed (:func:`~sak_mm.evaluation.boundary.
    edge_nms`) and matched to the ground truth at 99 thresholds. The ground
    truth is the thinned ``seg2bmap`` of the context label map when the
    dataset names one (``boundary_gt_file``, PASCAL-Context), else the
    thinned boundary label of the sample (NYUD-v2).

    The ``'fast'`` backend (numba) gives the counts of the BSDS matcher
    (``'exact-reference'``, pyEdgeEval) at a fraction of its cost (see
    ``docs/evaluation.md``); ``num_workers`` spreads images over processes
    (results do not depend on it).

    Args:
        max_dist (float): Tolerance as a fraction of the image diagonal:
            0.011 for NYUD-v2 (default), 0.0075 for PASCAL-Context.
        nms (str, optional): ``'sak'`` (default), ``'invpt'`` or None.
        num_workers (int): Worker processes for the matching.
        seed (int): Seed of the matcher's random outlier graph.
        backend (str): ``'fast'`` (default) or ``'exact-reference'``.
        task (str): Defaults to ``'edge'``.
    """

    def __init__(self,
                 max_dist: float = 0.011,
                 nms: Optional[str] = 'sak',
                 num_workers: int = 0,
                 seed: int = 1,
                 backend: str = 'fast',
                 task: str = 'edge',
                 **kwargs):
        super().__init__(task=task, **kwargs)
        check_backend(backend)
        self.max_dist = max_dist
        self.nms = nms
        self.num_workers = num_workers
        self.seed = seed
        self.backend = backend

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if self.task not in sample.get('pred', {}):
                continue
            prob = sample['pred'][self.task][0].float().cpu().numpy()
            pred_u8 = (np.clip(prob, 0, 1) * 255).astype(np.uint8)
            if sample.get('boundary_gt_file'):
                gt = _label_map_boundaries(sample['boundary_gt_file'],
                                           self.backend)
            elif self.task in sample.get('gt', {}):
                gt = thin(sample['gt'][self.task][0].cpu().numpy() == 1,
                          self.backend)
            else:
                continue
            self.results.append((pred_u8, gt))

    def compute_metrics(self, results: list) -> dict:
        scores = evaluate_images(results, self.max_dist, self.nms,
                                 self.num_workers, self.seed, self.backend)
        return {k: 100 * scores[k] for k in ('odsF', 'oisF', 'AP')}
