# Copyright (c) sak_mm contributors. All rights reserved.
from .checkpoint_loading import (UnsafeCheckpointError, load_checkpoint_file,
                                 read_checkpoint, safe_loading)
from .flops import flop_counter
from .cache import analysis_dir, cache_dir, default_work_dir
from .model_cfg import (check_weight_files, set_build_teachers,
                        teachers_without_weights, weight_files,
                        without_weight_files)
from .runtime import (apply_runtime_switches, apply_speed_switch,
                      apply_task_switch, leave_process_group, load_config,
                      set_precision)
from .synthetic import synthetic_batch

__all__ = [
    'apply_runtime_switches', 'apply_speed_switch', 'apply_task_switch',
    'flop_counter',
    'load_config', 'set_precision', 'synthetic_batch',
    'without_weight_files', 'set_build_teachers', 'weight_files',
    'check_weight_files', 'teachers_without_weights', 'analysis_dir',
    'cache_dir', 'default_work_dir', 'read_checkpoint',
    'load_checkpoint_file', 'safe_loading', 'UnsafeCheckpointError',
    'leave_process_group'
]
