# Copyright (c) sak_mm contributors. All rights reserved.
from .runtime import apply_runtime_switches

__all__ = ['apply_runtime_switches']
