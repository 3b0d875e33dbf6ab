# Copyright (c) sak_mm contributors. All rights reserved.
from .base import TeacherWrapper
from .clip import CLIPTeacher
from .dinov2 import DINOv2Teacher
from .frozen import FrozenTeachers
from .sam import SAMTeacher
from .timm_vit import TimmViTTeacher

__all__ = [
    'TeacherWrapper', 'FrozenTeachers', 'DINOv2Teacher', 'CLIPTeacher',
    'SAMTeacher', 'TimmViTTeacher'
]
