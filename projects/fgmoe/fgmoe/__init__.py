# Copyright (c) sak_mm contributors. All rights reserved.
"""FGMoE: Multi-Task Dense Prediction Fine-Tuning with Mixture of
Fine-Grained Experts, as a sak_mm project (``custom_imports``)."""
from .decoder import ConvHead, FGMoEDecoder, balance_loss
from .deformable import (ChannelwiseDeformConv, DeformableConv2d,
                         sample_per_channel)
from .mixer import DeformableMixer, FeatureAggregator
from .moe import FineGrainedMoE, TopKRouter

__all__ = [
    'ChannelwiseDeformConv', 'ConvHead', 'FGMoEDecoder', 'balance_loss',
    'DeformableConv2d', 'DeformableMixer', 'FeatureAggregator',
    'FineGrainedMoE', 'TopKRouter', 'sample_per_channel'
]
