# Copyright (c) sak_mm contributors. All rights reserved.
"""Geometric multi-task transforms; every dense field is resampled and
adjusted as its kind says (:mod:`sak_mm.structures.field_kinds`)."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from sak_mm.registry import TRANSFORMS
from sak_mm.structures import IGNORE_INDEX, get_field


#: cv2 flags of the fields' interpolation names
CV2_INTERPOLATION = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR)


def _as_hwc(arr: np.ndarray) -> np.ndarray:
    return arr[..., None] if arr.ndim == 2 else arr


def _resize_field(name: str, arr: np.ndarray, size) -> np.ndarray:
    """Resample field ``name`` to ``size`` (cv2's ``(w, h)``) as it says."""
    flag = CV2_INTERPOLATION[get_field(name).interpolation]
    return _as_hwc(cv2.resize(arr, size, interpolation=flag))


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale image and labels by one factor drawn from ``U[low, high)``.

    The image is resized bilinearly, every dense field with its own
    interpolation (nearest neighbours for the built-in ones), and its values
    adjusted as its kind says (depth is divided by the factor). The new size
    is ``int(dim * scale)`` as in the reference pipeline.

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields, img_shape
    Added Keys: scale_factor
    """

    def __init__(self, scale_range: Tuple[float, float] = (0.5, 2.0)):
        low, high = scale_range
        if not 0 < low <= high:
            raise ValueError(f'scale_range must satisfy 0 < low <= high, got '
                             f'{scale_range}')
        self.scale_range = (float(low), float(high))

    def transform(self, results: dict) -> dict:
        low, high = self.scale_range
        scale = low if low == high else float(np.random.uniform(low, high))
        results['scale_factor'] = scale
        if scale == 1.0:
            return results
        h, w = results['img'].shape[:2]
        size = (int(w * scale), int(h * scale))  # cv2 takes (w, h)
        results['img'] = cv2.resize(
            results['img'], size, interpolation=cv2.INTER_LINEAR)
        for name, arr in results.get('gt_fields', {}).items():
            results['gt_fields'][name] = get_field(name).rescale_values(
                _resize_field(name, arr, size), scale)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(scale_range={self.scale_range})'


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``crop_size`` window (smaller images are not padded here).

    With ``cat_max_ratio < 1`` the window is redrawn up to ``max_tries``
    times until no single class of ``cat_field`` covers more than that
    fraction of its valid pixels and at least two classes are visible; the
    last draw is kept otherwise (as the SAK reference does).

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields, img_shape
    """

    def __init__(self,
                 crop_size: Tuple[int, int],
                 cat_max_ratio: float = 1.0,
                 cat_field: str = 'semseg',
                 max_tries: int = 10):
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.cat_field = cat_field
        self.max_tries = max_tries

    def _draw(self, h: int, w: int) -> Tuple[int, int, int, int]:
        ch, cw = self.crop_size
        top = np.random.randint(0, max(h - ch, 0) + 1)
        left = np.random.randint(0, max(w - cw, 0) + 1)
        return top, min(top + ch, h), left, min(left + cw, w)

    def _balanced(self, label: np.ndarray, box) -> bool:
        t, b, l, r = box
        values, counts = np.unique(label[t:b, l:r], return_counts=True)
        counts = counts[values != IGNORE_INDEX]
        return len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        box = self._draw(h, w)
        label = results.get('gt_fields', {}).get(self.cat_field)
        if self.cat_max_ratio < 1.0 and label is not None:
            for _ in range(self.max_tries):
                if self._balanced(label, box):
                    break
                box = self._draw(h, w)
        t, b, l, r = box
        results['img'] = results['img'][t:b, l:r]
        for name, arr in results.get('gt_fields', {}).items():
            results['gt_fields'][name] = arr[t:b, l:r]
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio})')


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area and aspect ratio, then resize to ``size`` (the
    Inception-style crop of stage-1 ImageNet distillation).

    Area fraction from ``U(scale)`` and log-uniform aspect ratio from
    ``ratio``, 10 attempts, then a centre crop of the clamped ratio, as
    torchvision does. The image is resized with antialiased bilinear
    interpolation, dense fields (if any) with their own.

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields, img_shape
    """

    def __init__(self,
                 size: Tuple[int, int],
                 scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3 / 4, 4 / 3),
                 max_attempts: int = 10):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.max_attempts = max_attempts

    def _box(self, h: int, w: int) -> Tuple[int, int, int, int]:
        area = h * w
        log_ratio = np.log(self.ratio)
        for _ in range(self.max_attempts):
            target = area * np.random.uniform(*self.scale)
            aspect = np.exp(np.random.uniform(*log_ratio))
            cw = int(round(np.sqrt(target * aspect)))
            ch = int(round(np.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                top = np.random.randint(0, h - ch + 1)
                left = np.random.randint(0, w - cw + 1)
                return top, left, ch, cw
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            ch, cw = h, int(round(h * max(self.ratio)))
        else:
            ch, cw = h, w
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        top, left, ch, cw = self._box(h, w)
        crop = results['img'][top:top + ch, left:left + cw]
        out_h, out_w = self.size
        results['img'] = np.asarray(
            Image.fromarray(crop).resize((out_w, out_h), Image.BILINEAR))
        for name, arr in results.get('gt_fields', {}).items():
            part = np.ascontiguousarray(arr[top:top + ch, left:left + cw])
            results['gt_fields'][name] = get_field(name).rescale_values(
                _resize_field(name, part, (out_w, out_h)), out_h / ch)
        results['img_shape'] = self.size
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'scale={self.scale}, ratio={self.ratio})')


@TRANSFORMS.register_module()
class RandomHorizontalFlip(BaseTransform):
    """Flip image and labels left-right with probability ``prob``.

    Field values are adjusted as their kind says: surface normals have their
    x component negated, so that they still point the way the flipped
    surface faces.

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields
    Added Keys: flip
    """

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        if not flip:
            return results
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        for name, arr in results.get('gt_fields', {}).items():
            flipped = np.ascontiguousarray(arr[:, ::-1])
            results['gt_fields'][name] = get_field(name).flip_values(flipped)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """Rotate (and optionally zoom) image and labels about the image centre,
    keeping the image size, with probability ``prob``.

    The angle is drawn from ``U(degree)``; the zoom factor from
    ``U(zoom_range)`` or uniformly from ``zoom_choices`` (1 when neither is
    given). A factor above 1 zooms in (the borders are cut off), below 1 out
    (the borders are padded). The image is resampled bilinearly and padded
    with ``pad_val``; every dense field is resampled with its own
    interpolation, padded with its pad value (so the corners read as
    unannotated) and its values adjusted as its kind says (surface normals
    turn with the image, depth is divided by the zoom factor).

    ``RandomRotate(prob=1, degree=(-20, 20), zoom_range=(0.75, 1.25))`` and
    ``RandomRotate(prob=1, degree=(0, 0), zoom_choices=(1.0, 1.2, 1.5))`` are
    MTLoRA's PASCAL-Context and NYUD-v2 ``ScaleNRotate``.

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields
    Added Keys: rotate_degrees, zoom
    """

    def __init__(self,
                 prob: float = 0.5,
                 degree: Tuple[float, float] = (-10.0, 10.0),
                 zoom_range: Optional[Tuple[float, float]] = None,
                 zoom_choices: Optional[Sequence[float]] = None,
                 pad_val: int = 0):
        low, high = degree
        if low > high:
            raise ValueError(f'degree must be (low, high), got {degree}')
        if zoom_range is not None and zoom_choices is not None:
            raise ValueError('give zoom_range or zoom_choices, not both')
        zooms = tuple(zoom_range or ()) + tuple(zoom_choices or ())
        if any(z <= 0 for z in zooms):
            raise ValueError(f'zoom factors must be positive, got {zooms}')
        self.prob = prob
        self.degree = (float(low), float(high))
        self.zoom_range = None if zoom_range is None else tuple(
            float(z) for z in zoom_range)
        self.zoom_choices = None if zoom_choices is None else tuple(
            float(z) for z in zoom_choices)
        self.pad_val = pad_val

    def _zoom(self) -> float:
        if self.zoom_range is not None:
            return float(np.random.uniform(*self.zoom_range))
        if self.zoom_choices is not None:
            return self.zoom_choices[np.random.randint(len(self.zoom_choices))]
        return 1.0

    def transform(self, results: dict) -> dict:
        rotate = bool(np.random.rand() < self.prob)
        degrees = float(np.random.uniform(*self.degree)) if rotate else 0.0
        zoom = self._zoom() if rotate else 1.0
        results['rotate_degrees'] = degrees
        results['zoom'] = zoom
        if not rotate:
            return results
        h, w = results['img'].shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees,
                                         zoom)
        results['img'] = cv2.warpAffine(
            results['img'], matrix, (w, h), flags=cv2.INTER_LINEAR,
            borderValue=(self.pad_val, ) * 3)
        for name, arr in results.get('gt_fields', {}).items():
            field = get_field(name)
            warped = _as_hwc(cv2.warpAffine(
                arr, matrix, (w, h),
                flags=CV2_INTERPOLATION[field.interpolation],
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(float(field.pad_value), ) * 4))
            warped = field.rotate_values(warped, degrees)
            if zoom != 1.0:
                warped = field.rescale_values(warped, zoom)
            results['gt_fields'][name] = warped
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'degree={self.degree}, zoom_range={self.zoom_range}, '
                f'zoom_choices={self.zoom_choices})')


@TRANSFORMS.register_module()
class FixedResize(BaseTransform):
    """Resize image and labels to one fixed ``(h, w)``, aspect ratio not
    kept (MTLoRA's ``FixedResize``, 448x448 in the decoder-only protocol).

    The image is resized bilinearly, every dense field with its own
    interpolation; values are not changed (as in MTLoRA). When the labels
    are resized too, ``ori_shape`` becomes the new size: predictions are
    then scored against the resized labels, as that protocol does.

    Required Keys: img
    Optional Keys: gt_fields
    Modified Keys: img, gt_fields, img_shape, ori_shape
    """

    def __init__(self, size: Tuple[int, int]):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def transform(self, results: dict) -> dict:
        h, w = self.size
        results['img'] = cv2.resize(
            results['img'], (w, h), interpolation=cv2.INTER_LINEAR)
        fields = results.get('gt_fields', {})
        for name, arr in fields.items():
            fields[name] = _resize_field(name, arr, (w, h))
        results['img_shape'] = (h, w)
        if fields:
            results['ori_shape'] = (h, w)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(size={self.size})'


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """Random brightness, contrast, saturation and hue, each with p=0.5.

    Contrast comes either before or after the HSV steps (chosen at random),
    as in mmseg and the SAK reference. Works on the ``uint8`` RGB image.

    Required Keys: img
    Modified Keys: img
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_range = tuple(contrast_range)
        self.saturation_range = tuple(saturation_range)
        self.hue_delta = hue_delta

    @staticmethod
    def _affine(img: np.ndarray, alpha: float = 1.0,
                beta: float = 0.0) -> np.ndarray:
        out = img.astype(np.float32) * alpha + beta
        return np.clip(out, 0, 255).astype(np.uint8)

    def _contrast(self, img: np.ndarray) -> np.ndarray:
        if np.random.rand() < 0.5:
            img = self._affine(img, alpha=np.random.uniform(*self.contrast_range))
        return img

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.uint8)
        contrast_first = np.random.rand() < 0.5
        if np.random.rand() < 0.5:
            img = self._affine(
                img, beta=np.random.uniform(-self.brightness_delta,
                                            self.brightness_delta))
        if contrast_first:
            img = self._contrast(img)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        if np.random.rand() < 0.5:
            hsv[..., 1] = self._affine(
                hsv[..., 1], alpha=np.random.uniform(*self.saturation_range))
        if np.random.rand() < 0.5:
            shift = np.random.randint(-self.hue_delta, self.hue_delta)
            hsv[..., 0] = (hsv[..., 0].astype(np.int64) + shift) % 180
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        if not contrast_first:
            img = self._contrast(img)
        results['img'] = img
        return results
