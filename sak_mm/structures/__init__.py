# Copyright (c) sak_mm contributors. All rights reserved.
from .fields import DENSE_FIELDS, IGNORE_INDEX, DenseField, get_field
from .multi_task_data_sample import MultiTaskDataSample

__all__ = [
    'DENSE_FIELDS', 'IGNORE_INDEX', 'DenseField', 'get_field',
    'MultiTaskDataSample'
]
