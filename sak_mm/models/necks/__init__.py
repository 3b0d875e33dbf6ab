# Copyright (c) sak_mm contributors. All rights reserved.
from .mor_neck import MoRNeck, MoRRouter

__all__ = ['MoRNeck', 'MoRRouter']
