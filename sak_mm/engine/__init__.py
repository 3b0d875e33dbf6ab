# Copyright (c) sak_mm contributors. All rights reserved.
from .checkpoint_io import AtomicLocalBackend, from_plain, to_plain
from .hooks import (MultiTaskVisualizationHook, RepSimilarityHook,
                    RouterWeightsHook)
from .runner import PlainCheckpointStateHook, SAKRunner
from .schedulers import WarmupCosineLR

__all__ = [
    'AtomicLocalBackend', 'to_plain', 'from_plain', 'SAKRunner',
    'PlainCheckpointStateHook', 'RouterWeightsHook', 'RepSimilarityHook',
    'MultiTaskVisualizationHook', 'WarmupCosineLR'
]
