# Copyright (c) sak_mm contributors. All rights reserved.
from .demo_rooms import make_demo_nyud
from .image_folder import ImageFolderDataset
from .nyud import NYUD_CLASSES, NYUDv2Dataset
from .pascal_context import PASCAL_CLASSES, PascalContextDataset
from . import transforms  # noqa: F401  (registers the transforms)

__all__ = [
    'NYUDv2Dataset', 'NYUD_CLASSES', 'PascalContextDataset', 'PASCAL_CLASSES',
    'ImageFolderDataset', 'make_demo_nyud'
]
