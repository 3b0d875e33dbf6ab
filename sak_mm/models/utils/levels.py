# Copyright (c) sak_mm contributors. All rights reserved.
"""Which blocks of a ViT give the four feature levels."""
from typing import List


def evenly_spaced_levels(num_layers: int, num_levels: int = 4) -> List[int]:
    """Block indices ``{L/4, L/2, 3L/4, L}`` (0-based) of a ``num_layers``
    deep ViT, e.g. ``[5, 11, 17, 23]`` for 24 blocks (paper Sec. 3.2)."""
    if num_layers < num_levels:
        raise ValueError(f'cannot take {num_levels} levels from '
                         f'{num_layers} blocks')
    return [num_layers * (k + 1) // num_levels - 1 for k in range(num_levels)]
