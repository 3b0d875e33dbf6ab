# Copyright (c) sak_mm contributors. All rights reserved.
"""Kinds of dense maps, each the one place that says how its maps behave.

.. code:: text

    kind      values      valid       rescale  h-flip    rotation  prediction
    label     int64       != 255      -        -         -         argmax
    saliency  int64 0/1   != 255      -        -         -         softmax[1] / sigmoid
    depth     float       > 0         divide   -         -         clamp >= 0
    normal    float xyz   non-zero    -        negate x  turn x,y  unit vector
    boundary  float 0/1   != 255      -        -         -         sigmoid

All resample with nearest neighbours (``interpolation``). Each kind also
renders a map as RGB and says what its colours mean (:meth:`FieldKind.key`:
class colours, a colour scale with units, a key image), saves a prediction
in its file format and
synthesises plausible labels (benchmarks, tests). Kinds are registered in
:data:`~sak_mm.registry.FIELD_KINDS`; a project adds one with
``@FIELD_KINDS.register_module()`` on a :class:`FieldKind` subclass and
names it in :func:`~sak_mm.structures.register_field`.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from sak_mm.registry import FIELD_KINDS

IGNORE_INDEX = 255


def label_palette(seed: int = 7) -> np.ndarray:
    """A fixed, well-spread colour per class index; ignore (255) is black."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 256, size=(256, 3)).astype(np.uint8)
    palette[IGNORE_INDEX] = 0
    return palette


_PALETTE = label_palette()


@dataclass(frozen=True)
class ClassKey:
    """Class colours: the classes shown, most pixels first."""
    indices: Tuple[int, ...]
    colours: np.ndarray  # (len(indices), 3) uint8


@dataclass(frozen=True)
class ScaleKey:
    """A colour scale: ``cmap`` from ``vmin`` to ``vmax``, in ``label``'s
    units."""
    cmap: str
    vmin: float
    vmax: float
    label: str


@dataclass(frozen=True)
class ImageKey:
    """A small image whose colours read as the map's (e.g. the normal
    directions), with a caption."""
    image: np.ndarray  # (h, w, 3) uint8
    label: str


def _to_uint8(prob: np.ndarray) -> np.ndarray:
    """``[0, 1]`` -> ``uint8`` by truncation, as the SAK reference saves."""
    return (np.clip(prob, 0, 1) * 255).astype(np.uint8)


def _save_png(array: np.ndarray, folder: str, name: str) -> str:
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, name + '.png')
    Image.fromarray(array, mode='L' if array.ndim == 2 else 'RGB').save(path)
    return path


class FieldKind:
    """How one kind of dense map behaves. Maps are ``(C, H, W)`` tensors in
    the model and metrics, ``(H, W, C)`` arrays in the data pipeline.

    Class attributes:
        integer (bool): The map holds class indices (packed as ``int64``).
        interpolation (str): How geometric transforms resample it
            (``'nearest'`` or ``'bilinear'``).
    """

    integer = False
    interpolation = 'nearest'

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'

    def valid_mask(self, gt: torch.Tensor) -> torch.Tensor:
        """Per-pixel validity of a ``(..., C, H, W)`` map ->
        ``(..., 1, H, W)`` bool: the pixel carries a real annotation."""
        raise NotImplementedError

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """A head's raw ``(B, C, H, W)`` output -> the prediction."""
        raise NotImplementedError

    def rescale_values(self, arr: np.ndarray, scale: float) -> np.ndarray:
        """Values after the map was resampled by ``scale``."""
        return arr

    def flip_values(self, arr: np.ndarray) -> np.ndarray:
        """Values of an ``(H, W, C)`` map after a horizontal flip."""
        return arr

    def rotate_values(self, arr: np.ndarray, degrees: float) -> np.ndarray:
        """Values of an ``(H, W, C)`` map after the image was rotated
        counter-clockwise by ``degrees``."""
        return arr

    def render(self, m: np.ndarray,
               value_range: Optional[Tuple[float, float]] = None
               ) -> np.ndarray:
        """A ``(C, H, W)`` map (ground truth or prediction) -> ``(H, W, 3)``
        uint8 RGB."""
        raise NotImplementedError

    def value_range(self, gt: torch.Tensor
                    ) -> Optional[Tuple[float, float]]:
        """The range in which to render ground truth and prediction alike
        (None: the kind renders on a fixed scale)."""
        return None

    def key(self, maps: Sequence[np.ndarray],
            value_range: Optional[Tuple[float, float]] = None):
        """What the colours of ``maps`` (``(C, H, W)`` arrays rendered with
        ``value_range``) mean: a :class:`ClassKey`, :class:`ScaleKey` or
        :class:`ImageKey`."""
        raise NotImplementedError

    def save(self, pred: np.ndarray, folder: str, task: str,
             name: str) -> str:
        """Write a ``(C, H, W)`` prediction under ``folder``; returns the
        path."""
        raise NotImplementedError

    def synthesize(self, out_channels: int, shape: Tuple[int, int],
                   generator: Optional[torch.Generator] = None
                   ) -> torch.Tensor:
        """Plausible random labels of this kind, ``(C, H, W)``, for a head
        with ``out_channels`` outputs (the classes of a class map)."""
        raise NotImplementedError


@FIELD_KINDS.register_module('label')
class LabelKind(FieldKind):
    """Class indices; 255 is unannotated. Saved as index PNGs."""

    integer = True

    def valid_mask(self, gt):
        return (gt != IGNORE_INDEX).all(dim=-3, keepdim=True)

    def activate(self, logits):
        return logits.argmax(dim=1, keepdim=True)

    def render(self, m, value_range=None):
        return _PALETTE[np.clip(m[0], 0, 255).astype(np.int64)]

    def key(self, maps, value_range=None):
        counts = sum(
            np.bincount(np.clip(m[0], 0, 255).astype(np.int64).ravel(),
                        minlength=256) for m in maps)
        counts[IGNORE_INDEX] = 0
        shown = tuple(int(i) for i in np.argsort(-counts, kind='stable')
                      if counts[i])
        return ClassKey(shown, _PALETTE[list(shown)])  # black: unannotated

    def save(self, pred, folder, task, name):
        return _save_png(pred[0].astype(np.uint8), osp.join(folder, task),
                         name)

    def synthesize(self, out_channels, shape, generator=None):
        return torch.randint(0, out_channels, (1, *shape), generator=generator)


class _ProbabilityKind(FieldKind):
    """Rendered as grey levels (ignore dark red) and saved as 8-bit
    probabilities, truncated as the SAK reference saves them."""

    #: what the grey level measures
    meaning = 'probability'

    def render(self, m, value_range=None):
        b = m[0]
        grey = (np.clip(b, 0, 1) * 255).astype(np.uint8)
        rgb = np.repeat(grey[..., None], 3, -1)
        rgb[b == IGNORE_INDEX] = (96, 0, 0)
        return rgb

    def valid_mask(self, gt):
        return (gt != IGNORE_INDEX).all(dim=-3, keepdim=True)

    def key(self, maps, value_range=None):
        return ScaleKey('gray', 0.0, 1.0,
                        f'{self.meaning}, dark red: unannotated')


@FIELD_KINDS.register_module('saliency')
class SaliencyKind(_ProbabilityKind):
    """Foreground / background classes (0/1, 255 unannotated), predicted
    as the foreground probability: of a 2-way softmax (2 logits) or a
    sigmoid (1 logit, the balanced-BCE form of the MTLoRA protocol)."""

    integer = True
    meaning = 'foreground probability'

    def activate(self, logits):
        if logits.shape[1] == 1:
            return torch.sigmoid(logits)
        return logits.softmax(dim=1)[:, 1:2]

    def save(self, pred, folder, task, name):
        return _save_png(_to_uint8(pred[0]), osp.join(folder, task), name)

    def synthesize(self, out_channels, shape, generator=None):
        return (torch.rand(1, *shape, generator=generator) > 0.5).long()


@FIELD_KINDS.register_module('boundary')
class BoundaryKind(_ProbabilityKind):
    """0/1 boundary pixels (255 unannotated), predicted as a sigmoid.
    Saved in the layout the SEISM benchmark reads,
    ``<folder>/<task>/img/<name>.png``."""

    meaning = 'boundary probability'

    def activate(self, logits):
        return torch.sigmoid(logits)

    def save(self, pred, folder, task, name):
        return _save_png(_to_uint8(pred[0]), osp.join(folder, task, 'img'),
                         name)

    def synthesize(self, out_channels, shape, generator=None):
        return (torch.rand(1, *shape, generator=generator) > 0.9).float()


@FIELD_KINDS.register_module('depth')
class DepthKind(FieldKind):
    """Metric depth; 0 marks a missing measurement. A rescale by ``s``
    divides it by ``s`` (the camera moved by ``1/s``). Saved as ``.npy``
    metres, rendered through 'magma' (near = dark; missing = grey, which
    'magma' does not contain, so it does not read as near)."""

    def valid_mask(self, gt):
        return (gt > 0).all(dim=-3, keepdim=True)

    def activate(self, logits):
        return logits.clamp(min=0)

    def rescale_values(self, arr, scale):
        return arr / scale

    @staticmethod
    def _measured(maps) -> Optional[Tuple[float, float]]:
        """The range of the maps' measured (positive) depths; None if
        nothing is measured."""
        valid = np.concatenate([np.asarray(m)[np.asarray(m) > 0].ravel()
                                for m in maps] + [np.empty(0, np.float32)])
        return (float(valid.min()), float(valid.max())) if valid.size \
            else None

    def value_range(self, gt):
        return self._measured([gt.float().cpu().numpy()])

    def _range(self, maps, value_range) -> Tuple[float, float]:
        """``value_range``, else the maps' measured range, else 0-1 m."""
        return value_range or self._measured(maps) or (0.0, 1.0)

    def render(self, m, value_range=None):
        import matplotlib
        d = m[0]
        valid = d > 0
        lo, hi = self._range([d], value_range)
        norm = np.clip((d - lo) / max(hi - lo, 1e-6), 0, 1)
        rgb = (matplotlib.colormaps['magma'](norm)[..., :3] * 255).astype(
            np.uint8)
        rgb[~valid] = 128
        return rgb

    def key(self, maps, value_range=None):
        lo, hi = self._range(maps, value_range)
        return ScaleKey('magma', lo, max(hi, lo + 1e-6),
                        'depth (m), grey: no measurement')

    def save(self, pred, folder, task, name):
        sub = osp.join(folder, task)
        os.makedirs(sub, exist_ok=True)
        path = osp.join(sub, name + '.npy')
        np.save(path, pred[0].astype(np.float32))
        return path

    def synthesize(self, out_channels, shape, generator=None):
        return torch.rand(1, *shape, generator=generator) * 5 + 0.5


@FIELD_KINDS.register_module('normal')
class NormalKind(FieldKind):
    """Unit surface normals ``(x, y, z)``, x pointing right and y up in the
    image (the demo rooms' convention; a dataset whose y points down needs
    a kind that rotates the other way); an all-zero vector is unannotated.
    A horizontal flip negates x, an in-plane rotation of the image rotates
    (x, y) with it. Saved and rendered as RGB ``(n + 1) / 2``."""

    def valid_mask(self, gt):
        return (gt != 0).any(dim=-3, keepdim=True)

    def activate(self, logits):
        return F.normalize(logits, p=2, dim=1)

    def flip_values(self, arr):
        arr = arr.copy()
        arr[..., 0] *= -1
        return arr

    def rotate_values(self, arr, degrees):
        theta = np.deg2rad(degrees)
        c, s = np.cos(theta), np.sin(theta)
        arr = arr.copy()
        x, y = arr[..., 0].copy(), arr[..., 1].copy()
        arr[..., 0] = c * x - s * y
        arr[..., 1] = s * x + c * y
        return arr

    def render(self, m, value_range=None):
        n = np.moveaxis(m, 0, -1)
        rgb = ((n + 1) / 2 * 255).clip(0, 255).astype(np.uint8)
        rgb[(n == 0).all(-1)] = 0
        return rgb

    def key(self, maps, value_range=None, size: int = 33):
        # the normals of a sphere seen from the camera (z < 0 faces it),
        # up in the key = +y
        y, x = np.mgrid[1:-1:size * 1j, -1:1:size * 1j]
        z = -np.sqrt(np.clip(1 - x**2 - y**2, 0, None))
        sphere = np.stack([x, y, z]) * (x**2 + y**2 <= 1)
        return ImageKey(self.render(sphere.astype(np.float32)),
                        'normal: x right, y up; black: unannotated')

    def save(self, pred, folder, task, name):
        rgb = _to_uint8((np.moveaxis(pred, 0, -1) + 1) / 2)
        return _save_png(rgb, osp.join(folder, task), name)

    def synthesize(self, out_channels, shape, generator=None):
        return F.normalize(torch.randn(3, *shape, generator=generator), dim=0)
