# Copyright (c) sak_mm contributors. All rights reserved.
from .frozen_teacher import FrozenTeacherBackbone
from .tsap import Adapter, TASBackbone, TSAPBackbone

__all__ = ['Adapter', 'TASBackbone', 'TSAPBackbone', 'FrozenTeacherBackbone']
