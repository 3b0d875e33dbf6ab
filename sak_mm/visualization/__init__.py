# Copyright (c) sak_mm contributors. All rights reserved.
from .multi_task_visualizer import (MultiTaskVisualizer, RoutingPanel,
                                    figure_to_rgb, routing_panels,
                                    sample_figure)
from .plots import (expert_usage_table, plot_expert_usage,
                    plot_router_weights, plot_teacher_bias, router_table,
                    teacher_bias_table)

__all__ = [
    'MultiTaskVisualizer', 'RoutingPanel', 'routing_panels', 'sample_figure',
    'figure_to_rgb', 'plot_router_weights', 'plot_teacher_bias',
    'router_table', 'teacher_bias_table', 'plot_expert_usage',
    'expert_usage_table'
]
