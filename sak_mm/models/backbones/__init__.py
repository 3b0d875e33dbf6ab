# Copyright (c) sak_mm contributors. All rights reserved.
from .tsap import Adapter, TSAPBackbone

__all__ = ['Adapter', 'TSAPBackbone']
