# Copyright (c) sak_mm contributors. All rights reserved.
from .backbones import (Adapter, FrozenTeacherBackbone, TASBackbone,
                        TSAPBackbone)
from .data_preprocessor import MultiTaskDataPreprocessor
from .decode_heads import (BaseMultiTaskDecoder, BaseTaskHead, SimpleHead,
                           TaskHeads)
from .distillers import SAKDistiller
from .losses import (BalancedBCELoss, DistillLoss, MaskedL1Loss,
                     PixelCrossEntropyLoss)
from .necks import MoRNeck, MoRRouter
from .segmentors import BaseMultiTaskModel, MultiTaskEncoderDecoder
from .teachers import (CLIPTeacher, DINOv2Teacher, SAMTeacher,
                       TeacherWrapper)

__all__ = [
    'Adapter', 'TSAPBackbone', 'MultiTaskDataPreprocessor', 'BaseTaskHead',
    'SimpleHead', 'SAKDistiller', 'BalancedBCELoss', 'DistillLoss',
    'MaskedL1Loss', 'PixelCrossEntropyLoss', 'MoRNeck', 'MoRRouter',
    'CLIPTeacher', 'DINOv2Teacher', 'SAMTeacher', 'TeacherWrapper',
    'BaseMultiTaskDecoder', 'TaskHeads', 'MultiTaskEncoderDecoder',
    'BaseMultiTaskModel', 'TASBackbone', 'FrozenTeacherBackbone'
]
