# Copyright (c) sak_mm contributors. All rights reserved.
from .prediction_saver_hook import PredictionSaverHook, save_prediction
from .rep_similarity_hook import RepSimilarityHook, RepSimilarityMeter
from .router_weights_hook import (RouterWeightsHook, RouterWeightsRecorder,
                                  router_layout, scalar_logs)
from .visualization_hook import MultiTaskVisualizationHook

__all__ = [
    'RouterWeightsHook', 'RouterWeightsRecorder', 'router_layout',
    'scalar_logs', 'RepSimilarityHook', 'RepSimilarityMeter',
    'MultiTaskVisualizationHook', 'PredictionSaverHook', 'save_prediction'
]
