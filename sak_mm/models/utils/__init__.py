# Copyright (c) sak_mm contributors. All rights reserved.
from .compile import plain_drop_probs
from .crop import with_crop
from .levels import evenly_spaced_levels
from .parameters import component_parameters, parameter_table

__all__ = [
    'evenly_spaced_levels', 'plain_drop_probs', 'component_parameters',
    'parameter_table', 'with_crop'
]
