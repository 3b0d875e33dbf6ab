# Copyright (c) sak_mm contributors. All rights reserved.
from .boundary_metric import BoundaryMetric
from .depth_metric import DepthMetric
from .multi_task_metric import (MultiTaskMetric, lower_is_better_results,
                                mtl_gain)
from .normals_metric import NormalsMetric
from .saliency_metric import SaliencyMetric
from .semseg_metric import SemSegMetric

__all__ = [
    'BoundaryMetric', 'DepthMetric', 'MultiTaskMetric', 'NormalsMetric', 'SaliencyMetric',
    'SemSegMetric', 'lower_is_better_results', 'mtl_gain'
]
