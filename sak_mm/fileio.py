# Copyright (c) sak_mm contributors. All rights reserved.
"""Readers of annotation files, shared by the data loaders and the metrics
(which read some ground truth themselves, e.g. PASCAL-Context boundaries)."""
import os.path as osp

import numpy as np


def read_png(path: str) -> np.ndarray:
    """The pixels of a PNG file as stored (no colour conversion)."""
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with Image.open(path) as img:
        return np.asarray(img)


def read_label_map(path: str) -> np.ndarray:
    """The ``LabelMap`` of a PASCAL-Context ``trainval/<id>.mat``."""
    import scipy.io as sio
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    mat = sio.loadmat(path)
    if 'LabelMap' not in mat:
        raise KeyError(f'{path} has no LabelMap')
    return mat['LabelMap']
