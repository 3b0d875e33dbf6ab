# Copyright (c) sak_mm contributors. All rights reserved.
"""sak_mm: multi-teacher distillation of vision foundation models into one
multi-task dense-prediction student (SAK, ICLR 2025).

Components register themselves when the registries in
:mod:`sak_mm.registry` import their ``locations``. The one thing importing
the package does at once is make every checkpoint read through mmengine
weights-only (:mod:`sak_mm.utils.checkpoint_loading`), so a script that
imports ``sak_mm`` and loads a file with mmengine never unpickles code; it
imports torch and mmengine for that (2.7 s on the 2-core test machine).
"""
from .utils import checkpoint_loading  # noqa: F401 (weights-only reads)
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
