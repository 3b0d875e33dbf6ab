# Copyright (c) sak_mm contributors. All rights reserved.
from .metrics import (DepthMetric, MultiTaskMetric, NormalsMetric,
                      SemSegMetric, mtl_gain)

__all__ = [
    'DepthMetric', 'MultiTaskMetric', 'NormalsMetric', 'SemSegMetric',
    'mtl_gain'
]
