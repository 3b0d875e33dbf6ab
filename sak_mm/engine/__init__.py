# Copyright (c) sak_mm contributors. All rights reserved.
from .checkpoint_io import AtomicLocalBackend, enable_safe_checkpoints
from .hooks import (MultiTaskVisualizationHook, RepSimilarityHook,
                    RouterWeightsHook)

__all__ = [
    'AtomicLocalBackend', 'enable_safe_checkpoints', 'RouterWeightsHook',
    'RepSimilarityHook', 'MultiTaskVisualizationHook'
]
