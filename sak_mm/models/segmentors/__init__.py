# Copyright (c) sak_mm contributors. All rights reserved.
from .base import BaseMultiTaskModel
from .multi_task_encoder_decoder import MultiTaskEncoderDecoder

__all__ = ['BaseMultiTaskModel', 'MultiTaskEncoderDecoder']
