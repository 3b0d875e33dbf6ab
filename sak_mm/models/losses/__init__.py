# Copyright (c) sak_mm contributors. All rights reserved.
from .distill_loss import DistillLoss, match_resolution
from .task_losses import BalancedBCELoss, MaskedL1Loss, PixelCrossEntropyLoss
from .upsampled_loss import UpsampledLoss

__all__ = [
    'DistillLoss', 'match_resolution', 'PixelCrossEntropyLoss', 'MaskedL1Loss',
    'BalancedBCELoss', 'UpsampledLoss'
]
