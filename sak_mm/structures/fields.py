# Copyright (c) sak_mm contributors. All rights reserved.
"""The one table that drives every dense-label operation.

Each dense field (a task's ground-truth map) declares its kind once; resize,
crop, flip, pad, packing, the data preprocessor, the losses and the metrics
all read these declarations instead of growing per-field ``if`` chains.

.. code:: text

    kind       interpolation  on rescale by s   on h-flip          invalid pixels
    label      nearest        -                 -                  == 255
    saliency   nearest        -                 -                  == 255
    depth      nearest        divide by s       -                  <= 0
    normal     nearest        -                 negate x channel   all-zero vector
    boundary   nearest        -                 -                  == 255

``empty_is_invalid`` fields (human parts) become all-invalid once packed if
they show no foreground class: an image (or crop) without people says
nothing about body parts.
"""
from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch

IGNORE_INDEX = 255


@dataclass(frozen=True)
class DenseField:
    """How one dense ground-truth map behaves under the data pipeline.

    Args:
        name (str): Field (task) name, e.g. ``'semseg'``.
        kind (str): One of ``'label'``, ``'depth'``, ``'normal'``,
            ``'boundary'``.
        channels (int): Number of channels of the map.
        pad_value (float): Value written into padded pixels; it must read as
            invalid for :meth:`valid_mask`.
        divide_by_scale (bool): Whether values are divided by the rescale
            factor (metric depth seen from a camera moved by ``1/s``).
        negate_x_on_flip (bool): Whether channel 0 changes sign on a
            horizontal flip (surface normals).
        empty_is_invalid (bool): A packed map holding only background (0)
            and ignore (255) is turned all-ignore.
    """
    name: str
    kind: str
    channels: int
    pad_value: float
    divide_by_scale: bool = False
    negate_x_on_flip: bool = False
    empty_is_invalid: bool = False

    @property
    def is_integer(self) -> bool:
        """Whether the map holds class indices (packed as ``int64``)."""
        return self.kind in ('label', 'saliency')

    def valid_mask(self, gt: torch.Tensor) -> torch.Tensor:
        """Per-pixel validity of a ``(..., C, H, W)`` map -> ``(..., 1, H, W)``.

        A pixel is valid when it carries a real annotation: labels and
        boundaries are not ``255``, depth is positive, normals are non-zero.
        """
        if self.kind in ('label', 'saliency', 'boundary'):
            return (gt != IGNORE_INDEX).all(dim=-3, keepdim=True)
        if self.kind == 'depth':
            return (gt > 0).all(dim=-3, keepdim=True)
        if self.kind == 'normal':
            return (gt != 0).any(dim=-3, keepdim=True)
        raise ValueError(f'unknown dense field kind {self.kind!r}')

    def rescale_values(self, arr: np.ndarray, scale: float) -> np.ndarray:
        """Adjust the values of a map after a geometric rescale by ``scale``."""
        if self.divide_by_scale:
            arr = arr / scale
        return arr

    def flip_values(self, arr: np.ndarray) -> np.ndarray:
        """Adjust the values of an ``(H, W, C)`` map after a horizontal flip."""
        if self.negate_x_on_flip:
            arr = arr.copy()
            arr[..., 0] *= -1
        return arr


DENSE_FIELDS: Dict[str, DenseField] = {
    f.name: f
    for f in (
        DenseField('semseg', 'label', 1, IGNORE_INDEX),
        DenseField('depth', 'depth', 1, 0.0, divide_by_scale=True),
        DenseField('normals', 'normal', 3, 0.0, negate_x_on_flip=True),
        DenseField('edge', 'boundary', 1, IGNORE_INDEX),
        DenseField('human_parts', 'label', 1, IGNORE_INDEX,
                   empty_is_invalid=True),
        DenseField('sal', 'saliency', 1, IGNORE_INDEX),
    )
}


def get_field(name: str) -> DenseField:
    """Look a field up by name with an error that lists the known ones."""
    try:
        return DENSE_FIELDS[name]
    except KeyError:
        raise KeyError(f'unknown dense field {name!r}; known fields: '
                       f'{sorted(DENSE_FIELDS)}') from None
