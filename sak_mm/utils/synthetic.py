# Copyright (c) sak_mm contributors. All rights reserved.
"""Synthetic batches for the benchmark and memory tools."""
import torch
from mmengine.structures import PixelData

from sak_mm.structures import MultiTaskDataSample, get_field


def synthetic_batch(model, batch: int, size) -> dict:
    """A data-loader-style batch for ``model``: random uint8 images of
    ``size`` and plausible labels for every head, as its field synthesises
    them (classes, depth, unit normals, sparse boundaries...)."""
    h, w = size
    samples = []
    for _ in range(batch):
        s = MultiTaskDataSample(metainfo=dict(img_shape=(h, w),
                                              ori_shape=(h, w)))
        gt = {
            task: get_field(task).synthesize(channels, (h, w))
            for task, channels in model.heads.out_channels().items()
        }
        s.gt = PixelData(**gt)
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
              for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)
