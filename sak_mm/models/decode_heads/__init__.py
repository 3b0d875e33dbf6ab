# Copyright (c) sak_mm contributors. All rights reserved.
from .base_task_head import BaseTaskHead, batch_input_shape
from .multi_task_decoder import BaseMultiTaskDecoder, TaskHeads, samples_for
from .simple_head import SimpleHead

__all__ = [
    'BaseTaskHead', 'BaseMultiTaskDecoder', 'TaskHeads', 'SimpleHead',
    'batch_input_shape', 'samples_for'
]
