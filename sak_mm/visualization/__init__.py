# Copyright (c) sak_mm contributors. All rights reserved.
from .multi_task_visualizer import MultiTaskVisualizer
from .plots import (plot_router_weights, plot_teacher_bias, router_table,
                    teacher_bias_table)
from .renderers import render_field

__all__ = [
    'MultiTaskVisualizer', 'render_field', 'plot_router_weights',
    'plot_teacher_bias', 'router_table', 'teacher_bias_table'
]
