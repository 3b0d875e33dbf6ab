# Copyright (c) sak_mm contributors. All rights reserved.
from .model_cfg import without_weight_files
from .runtime import apply_runtime_switches

__all__ = ['apply_runtime_switches', 'without_weight_files']
