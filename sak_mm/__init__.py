# Copyright (c) sak_mm contributors. All rights reserved.
"""sak_mm: multi-teacher distillation of vision foundation models into one
multi-task dense-prediction student (SAK, ICLR 2025).

Importing the package is cheap on purpose: components register themselves
when the registries in :mod:`sak_mm.registry` import their ``locations``.
"""
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
