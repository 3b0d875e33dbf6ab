# Copyright (c) sak_mm contributors. All rights reserved.
"""The dense fields (a task's ground-truth map): one table that drives every
dense-label operation.

Each field names its kind (:mod:`sak_mm.structures.field_kinds`), its
channels and the value padded pixels get; the loaders, geometric
transforms, packing, the data preprocessor, the heads' losses and
predictions, the metrics, the visualizer, the prediction saver and the
synthetic batches all ask the field instead of growing per-field ``if``
chains. The built-in fields:

.. code:: text

    field        kind      channels  pad    notes
    semseg       label     1         255
    depth        depth     1         0
    normals      normal    3         0
    edge         boundary  1         255
    human_parts  label     1         255    empty_is_invalid
    sal          saliency  1         255

A project adds a task with :func:`register_field` (from the code its config
loads with ``custom_imports``).
"""
from dataclasses import dataclass
from typing import Dict, Iterator, Mapping, Optional, Tuple, Union

import numpy as np
import torch

from sak_mm.registry import FIELD_KINDS
from .field_kinds import IGNORE_INDEX, FieldKind


@dataclass(frozen=True)
class DenseField:
    """One dense ground-truth map and how it behaves.

    Args:
        name (str): Field (task) name, e.g. ``'semseg'``.
        kind (FieldKind): What kind of map it is.
        channels (int): Number of channels of the map.
        pad_value (float): Value written into padded pixels; it must read as
            invalid for :meth:`valid_mask`.
        empty_is_invalid (bool): A packed map holding only background (0)
            and ignore (255) is turned all-ignore: an image (or crop)
            without people says nothing about body parts.
    """
    name: str
    kind: FieldKind
    channels: int
    pad_value: float
    empty_is_invalid: bool = False

    @property
    def is_integer(self) -> bool:
        """Whether the map holds class indices (packed as ``int64``)."""
        return self.kind.integer

    @property
    def interpolation(self) -> str:
        """How geometric transforms resample the map."""
        return self.kind.interpolation

    def valid_mask(self, gt: torch.Tensor) -> torch.Tensor:
        """Per-pixel validity of a ``(..., C, H, W)`` map -> ``(..., 1, H,
        W)``."""
        return self.kind.valid_mask(gt)

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """A head's raw output -> this field's prediction."""
        return self.kind.activate(logits)

    def rescale_values(self, arr: np.ndarray, scale: float) -> np.ndarray:
        return self.kind.rescale_values(arr, scale)

    def flip_values(self, arr: np.ndarray) -> np.ndarray:
        return self.kind.flip_values(arr)

    def rotate_values(self, arr: np.ndarray, degrees: float) -> np.ndarray:
        return self.kind.rotate_values(arr, degrees)

    def pack(self, arr: np.ndarray) -> torch.Tensor:
        """An ``(H, W, C)`` pipeline map -> the ``(C, H, W)`` tensor of a
        data sample (``int64`` class indices or ``float32``)."""
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        tensor = torch.from_numpy(chw)
        tensor = tensor.long() if self.is_integer else tensor.float()
        if self.empty_is_invalid and bool(
                ((tensor == 0) | (tensor == IGNORE_INDEX)).all()):
            tensor = torch.full_like(tensor, IGNORE_INDEX)
        return tensor

    def stack(self, data_samples, shape: Tuple[int, int],
              device) -> torch.Tensor:
        """This field's labels of ``data_samples`` as one ``(B, C, H, W)``
        batch; a sample without the label contributes an all-invalid map of
        ``shape``, so it counts in neither loss nor metric."""
        maps = []
        for sample in data_samples:
            if 'gt' in sample and self.name in sample.gt:
                maps.append(sample.gt.get(self.name))
            else:
                dtype = torch.long if self.is_integer else torch.float32
                maps.append(
                    torch.full((self.channels, *shape), self.pad_value,
                               dtype=dtype, device=device))
        return torch.stack(maps).to(device)

    @staticmethod
    def _array(value) -> np.ndarray:
        if isinstance(value, torch.Tensor):
            value = value.detach().float().cpu().numpy()
        return np.asarray(value, np.float32)

    def render(self, value, gt=None) -> np.ndarray:
        """A ``(C, H, W)`` map (tensor or array) -> ``(H, W, 3)`` uint8 RGB;
        given the ground truth ``gt``, on the scale it is rendered at."""
        value_range = None if gt is None else self.kind.value_range(gt)
        return self.kind.render(self._array(value), value_range)

    def key(self, values, gt=None):
        """What the colours of ``values`` (maps drawn by :meth:`render` with
        the same ``gt``) mean (:meth:`FieldKind.key`)."""
        value_range = None if gt is None else self.kind.value_range(gt)
        return self.kind.key([self._array(v) for v in values], value_range)

    def save(self, pred: np.ndarray, folder: str, name: str) -> str:
        """Write a ``(C, H, W)`` prediction in this field's file format
        under ``folder``; returns the path."""
        return self.kind.save(pred, folder, self.name, name)

    def synthesize(self, out_channels: int, shape: Tuple[int, int],
                   generator: Optional[torch.Generator] = None
                   ) -> torch.Tensor:
        """Plausible random labels for a head with ``out_channels``."""
        return self.kind.synthesize(out_channels, shape, generator)


class _FieldTable(Mapping):
    """The registered fields by name (read-only; add with
    :func:`register_field`)."""

    def __init__(self):
        self._fields: Dict[str, DenseField] = {}

    def __getitem__(self, name: str) -> DenseField:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


DENSE_FIELDS = _FieldTable()


def register_field(name: str,
                   kind: Union[str, FieldKind],
                   channels: int,
                   pad_value: float,
                   empty_is_invalid: bool = False,
                   force: bool = False) -> DenseField:
    """Add a dense field (a task's label map) to :data:`DENSE_FIELDS`.

    Args:
        name (str): The task name heads, datasets and metrics use.
        kind (str | FieldKind): A kind registered in
            :data:`~sak_mm.registry.FIELD_KINDS` (``'label'``, ``'depth'``,
            ...) or a kind object.
        channels (int): Channels of the map.
        pad_value (float): Value of padded pixels (must read as invalid).
        empty_is_invalid (bool): See :class:`DenseField`.
        force (bool): Replace a field of the same name.
    """
    if name in DENSE_FIELDS and not force:
        raise KeyError(f'dense field {name!r} is already registered; pass '
                       f'force=True to replace it')
    if isinstance(kind, str):
        kind_cls = FIELD_KINDS.get(kind)
        if kind_cls is None:
            raise KeyError(f'unknown dense field kind {kind!r}; known kinds: '
                           f'{sorted(FIELD_KINDS.module_dict)}')
        kind = kind_cls()
    field = DenseField(name, kind, channels, pad_value, empty_is_invalid)
    pad = torch.full((channels, 1, 1), float(pad_value))
    if field.valid_mask(pad).any():
        raise ValueError(f'dense field {name!r}: pad value {pad_value} reads '
                         f'as a valid {type(kind).__name__} pixel')
    DENSE_FIELDS._fields[name] = field
    return field


def get_field(name: str) -> DenseField:
    """Look a field up by name with an error that lists the known ones."""
    try:
        return DENSE_FIELDS[name]
    except KeyError:
        raise KeyError(f'unknown dense field {name!r}; known fields: '
                       f'{sorted(DENSE_FIELDS)}') from None


register_field('semseg', 'label', 1, IGNORE_INDEX)
register_field('depth', 'depth', 1, 0.0)
register_field('normals', 'normal', 3, 0.0)
register_field('edge', 'boundary', 1, IGNORE_INDEX)
register_field('human_parts', 'label', 1, IGNORE_INDEX, empty_is_invalid=True)
register_field('sal', 'saliency', 1, IGNORE_INDEX)
