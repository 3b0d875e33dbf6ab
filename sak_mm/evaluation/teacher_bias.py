# Copyright (c) sak_mm contributors. All rights reserved.
"""Teacher-bias study (paper Fig. 1, left): how much each model helps or
hurts each task relative to a baseline, and how balanced that is."""
from typing import Dict, Optional, Sequence

import numpy as np

from .metrics import lower_is_better_results

#: result keys where a lower value is better (as the task metrics say)
LOWER_IS_BETTER = lower_is_better_results()


def teacher_bias_study(baseline: Dict[str, float],
                       models: Dict[str, Dict[str, float]],
                       metrics: Optional[Sequence[str]] = None,
                       lower_is_better: Sequence[str] = LOWER_IS_BETTER,
                       baseline_name: str = 'baseline') -> dict:
    """Relative improvement (%) of each model over ``baseline`` per metric,
    with its mean ``mu``, standard deviation ``sigma`` (over metrics,
    population) and ``mu / sigma``.

    ``improvement = 100 * s * (m - b) / b`` with ``s = -1`` for metrics where
    lower is better. ``metrics`` defaults to the metrics every result has
    (``mtl/*`` summaries excluded).
    """
    if not models:
        raise ValueError('the study needs at least one model besides the '
                         'baseline')
    if metrics is None:
        common = set(baseline)
        for result in models.values():
            common &= set(result)
        metrics = sorted(k for k in common if not k.startswith('mtl/'))
    if not metrics:
        raise ValueError('the baseline and the models share no metric')
    for name, result in [(baseline_name, baseline)] + list(models.items()):
        missing = [m for m in metrics if m not in result]
        if missing:
            raise KeyError(f'{name} has no result for {missing}')
    out = dict(baseline=baseline_name, tasks=list(metrics), models={})
    for name, result in models.items():
        gains = {}
        for m in metrics:
            rel = 100.0 * (result[m] - baseline[m]) / baseline[m]
            gains[m] = -rel if m in lower_is_better else rel
        values = np.array(list(gains.values()))
        mu, sigma = float(values.mean()), float(values.std())
        out['models'][name] = dict(
            improvement=gains, mu=mu, sigma=sigma,
            mu_over_sigma=mu / sigma if sigma > 0 else float('inf'))
    return out
