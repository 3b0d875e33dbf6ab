# Copyright (c) sak_mm contributors. All rights reserved.
"""Loading of images and dense annotations from their on-disk formats."""
import os.path as osp
from typing import Callable, Dict

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from sak_mm.registry import TRANSFORMS
from sak_mm.structures import IGNORE_INDEX


def _read_png(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    with Image.open(path) as img:
        return np.asarray(img)


def _decode_label_shift1(path: str) -> np.ndarray:
    """Index PNG whose 0 means void and ``k`` means class ``k-1`` (NYUD)."""
    raw = _read_png(path).astype(np.int64)
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel label PNG, got '
                         f'shape {raw.shape}')
    label = raw - 1
    label[raw == 0] = IGNORE_INDEX
    return label.astype(np.float32)[..., None]


def _decode_depth_npy(path: str) -> np.ndarray:
    """``.npy`` float depth in metres; 0 marks a missing measurement."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    depth = np.load(path).astype(np.float32)
    if depth.ndim == 3 and depth.shape[-1] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise ValueError(f'{path}: expected an (H, W) depth array, got shape '
                         f'{depth.shape}')
    return depth[..., None]


def _decode_normals_png(path: str) -> np.ndarray:
    """RGB PNG storing unit normals as ``uint8``: ``n = 2 x / 255 - 1``."""
    raw = _read_png(path)
    if raw.ndim != 3 or raw.shape[-1] != 3:
        raise ValueError(f'{path}: expected an RGB normals PNG, got shape '
                         f'{raw.shape}')
    return 2.0 * raw.astype(np.float32) / 255.0 - 1.0


def _decode_binary_png(path: str) -> np.ndarray:
    """Greyscale PNG with 0 / 255 pixels -> 0 / 1 (boundaries)."""
    raw = _read_png(path)
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel PNG, got shape '
                         f'{raw.shape}')
    return (raw.astype(np.float32) / 255.0)[..., None]


#: On-disk annotation formats, named in a dataset's ``data_list``.
DECODERS: Dict[str, Callable[[str], np.ndarray]] = {
    'png_label_shift1': _decode_label_shift1,
    'npy_depth': _decode_depth_npy,
    'png_normals': _decode_normals_png,
    'png_binary': _decode_binary_png,
}


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']`` as an RGB ``uint8`` array.

    Required Keys: img_path
    Added Keys: img, img_shape, ori_shape
    """

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file not found: {path}')
        with Image.open(path) as img:
            results['img'] = np.asarray(img.convert('RGB')).copy()
        results['img_shape'] = results['img'].shape[:2]
        results['ori_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadDenseAnnotations(BaseTransform):
    """Decode each task's annotation file into an ``(H, W, C)`` float map.

    ``results['gt_files']`` maps a task name to ``(format, path)`` where
    ``format`` is a key of :data:`DECODERS`. Label maps are kept as
    ``float32`` through the geometric transforms and packed as ``int64``.

    Required Keys: gt_files, img_shape
    Added Keys: gt_fields
    """

    def transform(self, results: dict) -> dict:
        fields = {}
        for task, (fmt, path) in results['gt_files'].items():
            if fmt not in DECODERS:
                raise KeyError(f'unknown annotation format {fmt!r} for task '
                               f'{task!r}; known formats: {sorted(DECODERS)}')
            arr = DECODERS[fmt](path)
            if arr.shape[:2] != tuple(results['img_shape']):
                raise ValueError(
                    f'{path}: {task} map has size {arr.shape[:2]} but the '
                    f'image {results.get("img_path")} has size '
                    f'{tuple(results["img_shape"])}')
            fields[task] = arr
        results['gt_fields'] = fields
        return results
