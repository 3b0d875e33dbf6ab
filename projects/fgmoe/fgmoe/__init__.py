# Copyright (c) sak_mm contributors. All rights reserved.
"""FGMoE: Multi-Task Dense Prediction Fine-Tuning with Mixture of
Fine-Grained Experts, as a sak_mm project (``custom_imports``)."""
from .decoder import ConvHead, FGMoEDecoder, balance_loss
from .mixer import DeformableConv2d, DeformableMixer, FeatureAggregator
from .moe import FineGrainedMoE, TopKRouter

__all__ = [
    'ConvHead', 'FGMoEDecoder', 'balance_loss', 'DeformableConv2d',
    'DeformableMixer', 'FeatureAggregator', 'FineGrainedMoE', 'TopKRouter'
]
