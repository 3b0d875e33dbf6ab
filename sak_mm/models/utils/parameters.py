# Copyright (c) sak_mm contributors. All rights reserved.
"""Trainable and frozen parameter counts per component of a model."""
from typing import List, Tuple

import torch.nn as nn


def component_parameters(model: nn.Module,
                         depth: int = 2) -> List[Tuple[str, int, int]]:
    """Rows ``(component, trainable, frozen)`` parameter counts of
    ``model``'s submodules down to ``depth`` levels (``backbone``,
    ``heads.aggregator``...), then the total."""
    rows = []

    def visit(module, name, level):
        children = list(module.named_children())
        if level == depth or not children:
            params = list(module.parameters())
            if params:
                rows.append((name, sum(p.numel() for p in params
                                       if p.requires_grad),
                             sum(p.numel() for p in params
                                 if not p.requires_grad)))
            return
        own = list(module.parameters(recurse=False))
        if own:
            rows.append((f'{name} (own)',
                         sum(p.numel() for p in own if p.requires_grad),
                         sum(p.numel() for p in own if not p.requires_grad)))
        for child_name, child in children:
            visit(child, f'{name}.{child_name}' if name else child_name,
                  level + 1)

    visit(model, '', 0)
    rows.append(('total', sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return rows


def parameter_table(model: nn.Module, depth: int = 2) -> str:
    """:func:`component_parameters` as a text table, in millions."""
    from sak_mm.visualization.plots import format_table
    rows = [(name, f'{t / 1e6:.3f}', f'{f / 1e6:.3f}')
            for name, t, f in component_parameters(model, depth)]
    return format_table(['component', 'trainable (M)', 'frozen (M)'], rows)
