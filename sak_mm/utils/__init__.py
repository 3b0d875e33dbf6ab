# Copyright (c) sak_mm contributors. All rights reserved.
from .model_cfg import without_weight_files
from .runtime import apply_runtime_switches, set_precision

__all__ = ['apply_runtime_switches', 'set_precision', 'without_weight_files']
