# Copyright (c) sak_mm contributors. All rights reserved.
from .field_kinds import IGNORE_INDEX, FieldKind
from .fields import DENSE_FIELDS, DenseField, get_field, register_field
from .multi_task_data_sample import MultiTaskDataSample

__all__ = [
    'DENSE_FIELDS', 'IGNORE_INDEX', 'DenseField', 'FieldKind', 'get_field',
    'register_field', 'MultiTaskDataSample'
]
