# Copyright (c) sak_mm contributors. All rights reserved.
"""Synthetic batches for the benchmark and memory tools."""
import torch
from mmengine.structures import PixelData

from sak_mm.structures import MultiTaskDataSample, get_field


def synthetic_batch(model, batch: int, size) -> dict:
    """A data-loader-style batch for ``model``: random uint8 images of
    ``size`` and plausible labels for every head (classes, depth, unit
    normals, sparse boundaries)."""
    h, w = size
    samples = []
    for _ in range(batch):
        s = MultiTaskDataSample(metainfo=dict(img_shape=(h, w),
                                              ori_shape=(h, w)))
        gt = {}
        for task, head in model.heads.items():
            kind = get_field(task).kind
            if kind == 'label':
                gt[task] = torch.randint(0, head.out_channels, (1, h, w))
            elif kind == 'depth':
                gt[task] = torch.rand(1, h, w) * 5 + 0.5
            elif kind == 'normal':
                gt[task] = torch.nn.functional.normalize(
                    torch.randn(3, h, w), dim=0)
            else:
                gt[task] = (torch.rand(1, h, w) > 0.9).float()
        s.gt = PixelData(**gt)
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
              for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)
