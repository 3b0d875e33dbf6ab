# Copyright (c) sak_mm contributors. All rights reserved.
from .sak_distiller import SAKDistiller

__all__ = ['SAKDistiller']
