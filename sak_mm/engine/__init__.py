# Copyright (c) sak_mm contributors. All rights reserved.
from .checkpoint_io import AtomicLocalBackend, enable_safe_checkpoints

__all__ = ['AtomicLocalBackend', 'enable_safe_checkpoints']
