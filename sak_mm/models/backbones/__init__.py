# Copyright (c) sak_mm contributors. All rights reserved.
from .frozen_teacher import FrozenTeacherBackbone
from .tsap import Adapter, TSAPBackbone

__all__ = ['Adapter', 'TSAPBackbone', 'FrozenTeacherBackbone']
