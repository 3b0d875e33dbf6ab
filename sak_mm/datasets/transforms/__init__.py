# Copyright (c) sak_mm contributors. All rights reserved.
from .formatting import PackMultiTaskInputs
from .geometric import (PhotoMetricDistortion, RandomCrop,
                        RandomHorizontalFlip, RandomRescale,
                        RandomResizedCrop)
from .loading import DECODERS, LoadDenseAnnotations, LoadImage

__all__ = [
    'DECODERS', 'LoadImage', 'LoadDenseAnnotations', 'RandomRescale',
    'RandomCrop', 'RandomHorizontalFlip', 'PhotoMetricDistortion',
    'RandomResizedCrop', 'PackMultiTaskInputs'
]
