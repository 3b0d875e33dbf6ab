# Copyright (c) sak_mm contributors. All rights reserved.
"""Unlabelled images for stage-1 distillation (ImageNet-1k folder layout)."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from sak_mm.registry import DATASETS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """All images under ``data_root/split`` (recursively), or those listed in
    ``ann_file`` (one path per line, relative to ``data_root/split``;
    anything after the path, such as an ImageNet class index, is ignored).

    Stage 1 distils on images alone, so labels are not read. The ImageNet-1k
    layout ``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG`` works as is.

    Args:
        data_root (str): Dataset root.
        split (str): Sub-folder of the split, e.g. ``'train'``.
        ann_file (str, optional): Image list; faster than walking the folder
            for 1.28M images.
        extensions (Sequence[str]): File suffixes taken as images.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 **kwargs):
        self.split = split
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(data_root=data_root, ann_file=ann_file or '',
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        folder = osp.join(self.data_root, self.split)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'image folder {folder!r} does not exist (expected '
                f'<data_root>/{self.split}/[<class>/]<image>)')
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'image list {self.ann_file!r} does '
                                        f'not exist')
            with open(self.ann_file) as f:
                names = [line.split()[0] for line in f if line.strip()]
        else:
            names = sorted(
                osp.relpath(osp.join(d, n), folder)
                for d, _, files in os.walk(folder) for n in files
                if n.lower().endswith(self.extensions))
        if not names:
            raise FileNotFoundError(f'no image found under {folder!r}')
        return [dict(img_path=osp.join(folder, n)) for n in names]
