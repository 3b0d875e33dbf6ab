# Copyright (c) sak_mm contributors. All rights reserved.
from .compile import plain_drop_probs
from .levels import evenly_spaced_levels

__all__ = ['evenly_spaced_levels', 'plain_drop_probs']
