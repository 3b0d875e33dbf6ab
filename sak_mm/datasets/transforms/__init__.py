# Copyright (c) sak_mm contributors. All rights reserved.
from .formatting import PackMultiTaskInputs
from .geometric import (FixedResize, PhotoMetricDistortion, RandomCrop,
                        RandomHorizontalFlip, RandomRescale,
                        RandomResizedCrop, RandomRotate)
from .loading import LoadDenseAnnotations, LoadImage

__all__ = [
    'LoadImage', 'LoadDenseAnnotations', 'RandomRescale', 'RandomCrop',
    'RandomHorizontalFlip', 'RandomRotate', 'PhotoMetricDistortion',
    'RandomResizedCrop', 'PackMultiTaskInputs', 'FixedResize'
]
