# Copyright (c) sak_mm contributors. All rights reserved.
from .multi_task_visualizer import MultiTaskVisualizer
from .plots import (plot_router_weights, plot_teacher_bias, router_table,
                    teacher_bias_table)

__all__ = [
    'MultiTaskVisualizer', 'plot_router_weights', 'plot_teacher_bias',
    'router_table', 'teacher_bias_table'
]
