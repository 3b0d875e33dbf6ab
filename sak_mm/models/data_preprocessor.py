# Copyright (c) sak_mm contributors. All rights reserved.
"""Batched normalisation and centred padding of images and dense labels."""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import PixelData

from sak_mm.registry import MODELS
from sak_mm.structures import get_field

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def centred_pad_offsets(size: Tuple[int, int],
                        target: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` padding that centres ``size`` in
    ``target``, with the odd pixel at the bottom/right (SAK reference)."""
    dh, dw = target[0] - size[0], target[1] - size[1]
    return dh // 2, dh - dh // 2, dw // 2, dw - dw // 2


@MODELS.register_module()
class MultiTaskDataPreprocessor(BaseDataPreprocessor):
    """Normalise images, then pad images and labels to one batch shape.

    .. code:: text

        uint8 (3, h, w) --float, (x - mean) / std--> normalised image
        pad centred to max(pad_size, largest image) rounded up to
        size_divisor; image pads with 0 (post-normalisation); in training,
        every label field pads with its table ``pad_value`` (invalid by
        construction). Evaluation keeps labels at their original size:
        predictions are cropped back to it (``pad_offset``, ``img_shape``).

    Args:
        mean (Sequence[float]): Per-channel mean on the 0-255 scale.
        std (Sequence[float]): Per-channel std on the 0-255 scale.
        pad_size (tuple, optional): Minimum ``(H, W)`` of a batch, e.g. the
            training crop size. Defaults to None (largest image in batch).
        size_divisor (int): Batch shape is rounded up to a multiple of this
            (the student's patch size).
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 pad_size: Optional[Tuple[int, int]] = None,
                 size_divisor: int = 16):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1), False)
        self.pad_size = tuple(pad_size) if pad_size is not None else None
        self.size_divisor = size_divisor

    def _batch_shape(self, shapes: List[Tuple[int, int]]) -> Tuple[int, int]:
        h = max(s[0] for s in shapes)
        w = max(s[1] for s in shapes)
        if self.pad_size is not None:
            h, w = max(h, self.pad_size[0]), max(w, self.pad_size[1])
        d = self.size_divisor
        return math.ceil(h / d) * d, math.ceil(w / d) * d

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        shapes = [tuple(img.shape[-2:]) for img in inputs]
        target = self._batch_shape(shapes)

        padded = []
        for i, img in enumerate(inputs):
            img = (img.float() - self.mean) / self.std
            top, bottom, left, right = centred_pad_offsets(shapes[i], target)
            padded.append(F.pad(img, (left, right, top, bottom), value=0.0))
            if samples is not None:
                sample = samples[i]
                sample.set_metainfo(
                    dict(pad_offset=(top, left), pad_shape=target,
                         batch_input_shape=target))
                if training and 'gt' in sample:
                    sample.gt = self._pad_labels(sample.gt,
                                                 (left, right, top, bottom))
        return dict(inputs=torch.stack(padded), data_samples=samples)

    @staticmethod
    def _pad_labels(gt: PixelData, pad: Tuple[int, int, int, int]) -> PixelData:
        out = {}
        for name, value in gt.items():
            field = get_field(name)
            out[name] = F.pad(value, pad, value=field.pad_value)
        return PixelData(**out)
