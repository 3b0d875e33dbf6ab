# Copyright (c) sak_mm contributors. All rights reserved.
"""Packing of a transformed sample into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from sak_mm.registry import TRANSFORMS
from sak_mm.structures import MultiTaskDataSample, get_field


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack the image as a ``(3, H, W)`` uint8 tensor and the labels as a
    :class:`MultiTaskDataSample`.

    Label fields become ``(C, H, W)`` tensors as their field packs them
    (:meth:`~sak_mm.structures.DenseField.pack`: ``int64`` for class maps,
    ``float32`` otherwise; ``empty_is_invalid`` fields without foreground
    become all-ignore). Normalisation and padding happen later, batched,
    in :class:`~sak_mm.models.MultiTaskDataPreprocessor`.

    Required Keys: img, img_path, ori_shape, img_shape
    Optional Keys: gt_fields, flip, scale_factor, sample_idx,
    boundary_gt_file (the label map the boundary metric derives its ground
    truth from)
    Added Keys: inputs, data_samples
    """

    meta_keys = ('img_path', 'ori_shape', 'img_shape', 'flip', 'scale_factor',
                 'sample_idx', 'boundary_gt_file')

    def transform(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = MultiTaskDataSample(metainfo={
            k: results[k]
            for k in self.meta_keys if k in results
        })
        sample.gt = PixelData(**{
            name: get_field(name).pack(arr)
            for name, arr in results.get('gt_fields', {}).items()
        })
        return dict(inputs=torch.from_numpy(img), data_samples=sample)
