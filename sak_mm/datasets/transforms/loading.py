# Copyright (c) sak_mm contributors. All rights reserved.
"""Loading of images and dense annotations from their on-disk formats."""
import logging
import os.path as osp
from typing import Sequence, Set

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log
from PIL import Image

from sak_mm.fileio import read_label_map, read_png
from sak_mm.registry import ANNOTATION_FORMATS, TRANSFORMS
from sak_mm.structures import IGNORE_INDEX

#: the EXIF tag of the stored pixels' orientation (1: as displayed)
_EXIF_ORIENTATION = 0x0112


@ANNOTATION_FORMATS.register_module('png_label_shift1')
def _decode_label_shift1(path: str) -> np.ndarray:
    """Index PNG whose 0 means void and ``k`` means class ``k-1`` (NYUD)."""
    raw = read_png(path).astype(np.int64)
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel label PNG, got '
                         f'shape {raw.shape}')
    label = raw - 1
    label[raw == 0] = IGNORE_INDEX
    return label.astype(np.float32)[..., None]


@ANNOTATION_FORMATS.register_module('npy_depth')
def _decode_depth_npy(path: str) -> np.ndarray:
    """``.npy`` float depth in metres; 0 (and NaN or inf, turned into 0)
    marks a missing measurement."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    depth = np.load(path)
    if not np.issubdtype(depth.dtype, np.number):
        raise ValueError(f'{path}: expected a numeric depth array, got dtype '
                         f'{depth.dtype}')
    depth = depth.astype(np.float32)
    if depth.ndim == 3 and depth.shape[-1] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2:
        raise ValueError(f'{path}: expected an (H, W) depth array, got shape '
                         f'{depth.shape}')
    # NaN / inf are missing measurements, as 0 is: loss and metric skip them
    depth[~np.isfinite(depth)] = 0.0
    return depth[..., None]


@ANNOTATION_FORMATS.register_module('png_normals')
def _decode_normals_png(path: str) -> np.ndarray:
    """RGB PNG storing unit normals as ``uint8``: ``n = 2 x / 255 - 1``."""
    raw = read_png(path)
    if raw.ndim != 3 or raw.shape[-1] != 3:
        raise ValueError(f'{path}: expected an RGB normals PNG, got shape '
                         f'{raw.shape}')
    return 2.0 * raw.astype(np.float32) / 255.0 - 1.0


@ANNOTATION_FORMATS.register_module('png_binary')
def _decode_binary_png(path: str) -> np.ndarray:
    """Greyscale PNG with 0 / 255 pixels -> 0 / 1 (boundaries)."""
    raw = read_png(path)
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel PNG, got shape '
                         f'{raw.shape}')
    values = np.unique(raw)
    if not np.isin(values, (0, 255)).all():
        odd = values[~np.isin(values, (0, 255))]
        raise ValueError(f'{path}: a boundary map holds 0 and 255 only, found '
                         f'{odd[:5].tolist()} too (soft or anti-aliased '
                         f'boundaries are not targets of this benchmark)')
    return (raw.astype(np.float32) / 255.0)[..., None]


@ANNOTATION_FORMATS.register_module('png_label')
def _decode_label_png(path: str) -> np.ndarray:
    """Index PNG stored as is (PASCAL-Context semantic classes 0..20)."""
    raw = read_png(path)
    if raw.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel label PNG, got '
                         f'shape {raw.shape}')
    return raw.astype(np.float32)[..., None]


@ANNOTATION_FORMATS.register_module('png_saliency')
def _decode_saliency_png(path: str) -> np.ndarray:
    """Greyscale saliency PNG, binarised at 0.5 -> 0 / 1."""
    raw = read_png(path)
    if raw.ndim == 3:
        raw = raw[..., 0]
    return (raw.astype(np.float32) / 255.0 > 0.5).astype(np.float32)[...,
                                                                      None]


@ANNOTATION_FORMATS.register_module('mat_label_map_boundary')
def _decode_label_map_boundary(path: str) -> np.ndarray:
    """Boundaries of a context label map: Laplacian != 0, thinned to one
    pixel (as the PASCAL multi-task protocol derives them)."""
    import cv2
    from skimage.morphology import thin
    lap = cv2.Laplacian(read_label_map(path).astype(np.float64), cv2.CV_64F)
    return thin(np.abs(lap) > 0).astype(np.float32)[..., None]


@ANNOTATION_FORMATS.register_module('png_normals_masked')
def _decode_masked_normals_png(path: str, label_map: str,
                               valid_classes: Sequence[int]) -> np.ndarray:
    """Distilled normals, kept only on context classes that NYUD annotates
    (elsewhere zero, i.e. invalid)."""
    normals = _decode_normals_png(path)
    labels = read_label_map(label_map)
    keep = np.isin(labels, np.asarray(valid_classes))
    return normals * keep[..., None]


#: PASCAL-Part names of person parts -> the 6 part groups (0 = background)
HUMAN_PART_GROUPS = {
    'hair': 1, 'head': 1, 'lear': 1, 'lebrow': 1, 'leye': 1, 'mouth': 1,
    'nose': 1, 'rear': 1, 'rebrow': 1, 'reye': 1, 'neck': 2, 'torso': 2,
    'luarm': 3, 'ruarm': 3, 'lhand': 4, 'llarm': 4, 'rhand': 4, 'rlarm': 4,
    'luleg': 5, 'ruleg': 5, 'lfoot': 6, 'llleg': 6, 'rfoot': 6, 'rlleg': 6,
}
PERSON_CLASS = 15  # PASCAL VOC index of 'person'


def _person_objects(path: str):
    import scipy.io as sio
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    objects = sio.loadmat(path)['anno'][0][0][1][0]
    return objects, [
        obj for obj in objects
        if int(obj[1][0][0]) == PERSON_CLASS and len(obj[3]) != 0
    ]


def has_annotated_people(path: str) -> bool:
    """Whether a PASCAL-Part ``.mat`` holds a person with part masks."""
    return bool(_person_objects(path)[1])


@ANNOTATION_FORMATS.register_module('mat_human_parts')
def _decode_human_parts_mat(path: str) -> np.ndarray:
    """PASCAL-Part ``anno`` of one image -> 7-way part labels.

    The parts of every person with part annotations are painted with their
    group index; an image without such a person is all-ignore (255).
    """
    objects, people = _person_objects(path)
    target = None
    for obj in people:
        if target is None:
            target = np.zeros(obj[2].shape, np.float32)
        for part in obj[3][0]:
            name = str(part[0][0])
            if name not in HUMAN_PART_GROUPS:
                raise KeyError(f'{path}: unknown person part {name!r}')
            target[part[1].astype(bool)] = HUMAN_PART_GROUPS[name]
    if target is None:
        target = np.full(objects[0][2].shape, IGNORE_INDEX, np.float32)
    return target[..., None]


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']`` as an RGB ``uint8`` array.

    A 16-bit grey image is scaled to 8 bits (``v / 257``; converting it
    directly saturates every value above 255). An image whose EXIF
    orientation is not the identity is refused: the labels are stored as
    pixels, and whether they follow the stored or the displayed orientation
    cannot be told. A file that does not decode is named in the error.

    Required Keys: img_path
    Added Keys: img, img_shape, ori_shape
    """

    #: PIL modes of 16-bit grey images
    SIXTEEN_BIT_MODES = ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I')

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file not found: {path}')
        try:
            with Image.open(path) as img:
                results['img'] = self._rgb8(img, path)
        except (OSError, SyntaxError) as err:  # PIL's decoding errors
            raise OSError(f'{path}: the image does not decode ({err})') \
                from err
        results['img_shape'] = results['img'].shape[:2]
        results['ori_shape'] = results['img'].shape[:2]
        return results

    def _rgb8(self, img: Image.Image, path: str) -> np.ndarray:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
        if orientation != 1:
            raise ValueError(
                f'{path}: EXIF orientation {orientation} (the pixels are '
                f'stored rotated or mirrored); its labels are stored as '
                f'pixels, so apply the orientation to the image file and its '
                f'labels alike (e.g. PIL.ImageOps.exif_transpose) or remove '
                f'the tag')
        if img.mode in self.SIXTEEN_BIT_MODES:
            grey = np.asarray(img, dtype=np.float64)
            if grey.max() > 65535 or grey.min() < 0:
                raise ValueError(f'{path}: a {img.mode} image with values '
                                 f'outside [0, 65535]')
            grey = np.round(grey / 257).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.asarray(img.convert('RGB')).copy()


@TRANSFORMS.register_module()
class LoadDenseAnnotations(BaseTransform):
    """Decode each task's annotation file into an ``(H, W, C)`` float map.

    ``results['gt_files']`` maps a task name to ``(format, path)`` or
    ``(format, path, kwargs)`` where ``format`` names a decoder registered
    in :data:`~sak_mm.registry.ANNOTATION_FORMATS` (a project registers its
    own with ``@ANNOTATION_FORMATS.register_module('name')`` on a function
    ``(path, **kwargs) -> (H, W, C) float32``) and ``kwargs`` its extra
    arguments. Label maps are kept as
    ``float32`` through the geometric transforms and packed as ``int64``.

    A file that fails to decode is named in the error; when the dataset
    gives ``num_classes`` (``{task: n}``), class maps with values outside
    ``[0, n)`` and the ignore index are refused, naming the file and the
    values. A map without one valid pixel (a class map all ignore, depth
    all missing, normals all zero), which trains and scores nothing, is
    logged once per file and process.

    Required Keys: gt_files, img_shape
    Optional Keys: num_classes
    Added Keys: gt_fields
    """

    def transform(self, results: dict) -> dict:
        fields = {}
        for task, spec in results['gt_files'].items():
            fmt, path = spec[:2]
            kwargs = spec[2] if len(spec) > 2 else {}
            decode = ANNOTATION_FORMATS.get(fmt)
            if decode is None:
                raise KeyError(
                    f'unknown annotation format {fmt!r} for task {task!r}; '
                    f'known formats: {sorted(ANNOTATION_FORMATS.module_dict)}')
            try:
                arr = decode(path, **kwargs)
            except (OSError, ValueError, SyntaxError) as err:
                if str(path) in str(err):
                    raise
                raise ValueError(f'{path}: could not read the {task} '
                                 f'annotation as {fmt!r}: {err}') from err
            if arr.shape[:2] != tuple(results['img_shape']):
                raise ValueError(
                    f'{path}: {task} map has size {arr.shape[:2]} but the '
                    f'image {results.get("img_path")} has size '
                    f'{tuple(results["img_shape"])}')
            classes = results.get('num_classes', {}).get(task)
            if classes is not None:
                _check_classes(arr, classes, task, path)
            if not has_valid_pixel(arr, task, classes is not None):
                _warn_once(f'{path}: the {task} map has no valid pixel '
                           f'(nothing to train or score on this image)')
            fields[task] = arr
        results['gt_fields'] = fields
        return results


#: the messages :func:`_warn_once` has logged in this process
_WARNED: Set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        print_log(message, logger='current', level=logging.WARNING)


def has_valid_pixel(arr: np.ndarray, task: str, class_map: bool) -> bool:
    """Whether an annotation map holds a pixel that losses and metrics use:
    a class other than the ignore index, a depth above 0 (0 is missing), a
    non-zero normal; every map of the other tasks (a boundary map without
    a boundary is an answer)."""
    if class_map:
        return bool((arr != IGNORE_INDEX).any())
    if task == 'depth':
        return bool((arr > 0).any())
    if task == 'normals':
        return bool(arr.any())
    return True


def _check_classes(label: np.ndarray, num_classes: int, task: str,
                   path: str) -> None:
    """Class maps hold ``0 .. num_classes - 1`` and the ignore index only."""
    values = np.unique(label)
    bad = values[((values < 0) | (values >= num_classes)) &
                 (values != IGNORE_INDEX)]
    if bad.size:
        raise ValueError(
            f'{path}: {task} labels must be in [0, {num_classes}) or '
            f'{IGNORE_INDEX} (ignore), found {bad[:5].astype(int).tolist()}')
