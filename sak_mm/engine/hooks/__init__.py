# Copyright (c) sak_mm contributors. All rights reserved.
from .dataset_tasks_hook import DatasetTasksHook
from .expert_usage_hook import (ExpertUsageHook, ExpertUsageRecorder,
                                expert_scalars, model_routers)
from .parameter_report_hook import ParameterReportHook
from .prediction_saver_hook import PredictionSaverHook, save_prediction
from .rng_state_hook import (RNGStateHook, set_torch_rng_state,
                             torch_rng_state)
from .safe_checkpoint_hook import (FiniteLossHook, NonFiniteError,
                                   SafeCheckpointHook, non_finite_weights)
from .rep_similarity_hook import RepSimilarityHook, RepSimilarityMeter
from .router_weights_hook import (RouterWeightsHook, RouterWeightsRecorder,
                                  router_layout, scalar_logs)
from .visualization_hook import MultiTaskVisualizationHook

__all__ = [
    'RouterWeightsHook', 'RouterWeightsRecorder', 'router_layout',
    'scalar_logs', 'RepSimilarityHook', 'RepSimilarityMeter',
    'MultiTaskVisualizationHook', 'PredictionSaverHook', 'save_prediction',
    'ParameterReportHook', 'ExpertUsageHook', 'ExpertUsageRecorder',
    'expert_scalars', 'model_routers', 'SafeCheckpointHook', 'FiniteLossHook',
    'NonFiniteError', 'non_finite_weights', 'RNGStateHook',
    'torch_rng_state', 'set_torch_rng_state', 'DatasetTasksHook'
]
