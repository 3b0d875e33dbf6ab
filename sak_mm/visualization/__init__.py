# Copyright (c) sak_mm contributors. All rights reserved.
from .multi_task_visualizer import MultiTaskVisualizer
from .plots import (expert_usage_table, plot_expert_usage,
                    plot_router_weights, plot_teacher_bias, router_table,
                    teacher_bias_table)

__all__ = [
    'MultiTaskVisualizer', 'plot_router_weights', 'plot_teacher_bias',
    'router_table', 'teacher_bias_table', 'plot_expert_usage',
    'expert_usage_table'
]
