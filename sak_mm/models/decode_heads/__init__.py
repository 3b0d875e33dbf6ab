# Copyright (c) sak_mm contributors. All rights reserved.
from .base_task_head import BaseTaskHead
from .simple_head import SimpleHead

__all__ = ['BaseTaskHead', 'SimpleHead']
