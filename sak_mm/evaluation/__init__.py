# Copyright (c) sak_mm contributors. All rights reserved.
from .metrics import (BoundaryMetric, DepthMetric, MultiTaskMetric, NormalsMetric,
                      SaliencyMetric, SemSegMetric, mtl_gain)
from .teacher_bias import LOWER_IS_BETTER, teacher_bias_study

__all__ = [
    'BoundaryMetric', 'DepthMetric', 'MultiTaskMetric', 'NormalsMetric', 'SaliencyMetric',
    'SemSegMetric',
    'mtl_gain', 'teacher_bias_study', 'LOWER_IS_BETTER'
]
