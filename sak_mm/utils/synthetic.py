# Copyright (c) sak_mm contributors. All rights reserved.
"""Synthetic batches for the benchmark and memory tools, and synthetic
boundary predictions for the boundary benchmark."""
import numpy as np
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


#: image size, regions and tolerance of the two benchmarks' images
BOUNDARY_DATASETS = {
    'nyud': dict(size=(425, 560), regions=30, max_dist=0.011),
    'pascal': dict(size=(375, 500), regions=12, max_dist=0.0075),
}


def _smooth_field(size, rng, amplitude):
    """Two smooth random displacement maps (y, x) of ``amplitude`` pixels
    (standard deviation)."""
    from scipy import ndimage
    fields = []
    for _ in range(2):
        f = ndimage.gaussian_filter(rng.normal(size=size), 16)
        fields.append(amplitude * f / (f.std() + 1e-12))
    return fields


def _warped_voronoi(size, seeds, shift):
    """Label map of the nearest seed over coordinates displaced by
    ``shift`` (curved region borders)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy += shift[0]
    xx += shift[1]
    best = np.full(size, np.inf)
    label = np.zeros(size, np.int64)
    for k, (sy, sx) in enumerate(seeds):
        d = (yy - sy)**2 + (xx - sx)**2
        label[d < best] = k
        best = np.minimum(best, d)
    return label


def synthetic_boundary_pair(dataset: str = 'nyud', seed: int = 0,
                            size=None):
    """A predicted 8-bit edge map and its thinned ground truth, shaped like
    a trained network's output on ``dataset``'s images (``'nyud'``:
    425x560, 30 regions; ``'pascal'``: 375x500, 12): responses a few
    pixels wide along the true borders displaced by about a pixel, of
    varying strength (some missed), weaker responses along unrelated
    borders (texture), and smooth noise.

    Returns:
        ``(pred_u8, gt_bool)``.
    """
    from scipy import ndimage

    from sak_mm.evaluation.boundary import seg2bmap, thin
    spec = BOUNDARY_DATASETS[dataset]
    size = tuple(size or spec['size'])
    rng = np.random.default_rng(seed)
    regions = spec['regions']
    seeds = rng.uniform((0, 0), size, (regions, 2))
    shift = _smooth_field(size, rng, 8.0)
    gt = thin(seg2bmap(_warped_voronoi(size, seeds, shift)))
    jitter = _smooth_field(size, rng, 2.0)
    moved = _warped_voronoi(size, seeds,
                            (shift[0] + jitter[0], shift[1] + jitter[1]))
    near = ndimage.distance_transform_edt(~seg2bmap(moved))
    strength = rng.uniform(0.0, 1.0, regions)[moved]
    texture = _warped_voronoi(size, rng.uniform((0, 0), size, (regions, 2)),
                              _smooth_field(size, rng, 12.0))
    far = ndimage.distance_transform_edt(~seg2bmap(texture))
    prob = np.maximum(strength * np.exp(-(near / 1.8)**2),
                      0.6 * rng.uniform(0.3, 1.0) * np.exp(-(far / 1.8)**2))
    prob += 0.06 * ndimage.gaussian_filter(rng.normal(size=size), 1.5)
    return (np.clip(prob, 0, 1) * 255).astype(np.uint8), gt
