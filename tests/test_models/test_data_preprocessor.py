# Copyright (c) sak_mm contributors. All rights reserved.
import torch
from mmengine.structures import PixelData

from sak_mm.models import MultiTaskDataPreprocessor
from sak_mm.models.data_preprocessor import centred_pad_offsets
from sak_mm.structures import MultiTaskDataSample


def test_centred_pad_offsets():
    assert centred_pad_offsets((40, 50), (48, 64)) == (4, 4, 7, 7)
    assert centred_pad_offsets((45, 63), (48, 64)) == (1, 2, 0, 1)


def test_normalise_then_pad_images_and_labels_from_field_table():
    pre = MultiTaskDataPreprocessor(pad_size=(8, 8), size_divisor=4)
    img = torch.full((3, 6, 5), 100, dtype=torch.uint8)
    s = MultiTaskDataSample(metainfo=dict(img_shape=(6, 5), ori_shape=(6, 5)))
    s.gt = PixelData(
        semseg=torch.zeros(1, 6, 5, dtype=torch.long),
        depth=torch.ones(1, 6, 5),
        normals=torch.ones(3, 6, 5),
        edge=torch.zeros(1, 6, 5))
    out = pre(dict(inputs=[img], data_samples=[s]), training=True)
    x = out['inputs']
    assert x.shape == (1, 3, 8, 8)
    mean = torch.tensor([123.675, 116.28, 103.53])
    std = torch.tensor([58.395, 57.12, 57.375])
    torch.testing.assert_close(x[0, :, 1, 1], (100 - mean) / std)
    assert x[0, :, 0].abs().sum() == 0  # padding is 0 after normalisation
    gt = out['data_samples'][0].gt
    assert out['data_samples'][0].pad_offset == (1, 1)
    assert gt.semseg[0, 0, 0] == 255 and gt.semseg[0, 1, 1] == 0
    assert gt.depth[0, 0, 0] == 0 and gt.depth[0, 1, 1] == 1
    assert gt.normals[:, 0, 0].abs().sum() == 0
    assert gt.edge[0, 7, 7] == 255


def test_eval_keeps_labels_and_rounds_to_divisor():
    pre = MultiTaskDataPreprocessor(size_divisor=16)
    s = MultiTaskDataSample(metainfo=dict(img_shape=(20, 30)))
    s.gt = PixelData(depth=torch.ones(1, 20, 30))
    out = pre(dict(inputs=[torch.zeros(3, 20, 30, dtype=torch.uint8)],
                   data_samples=[s]), training=False)
    assert out['inputs'].shape[-2:] == (32, 32)
    assert out['data_samples'][0].gt.depth.shape == (1, 20, 30)
    assert out['data_samples'][0].pad_offset == (6, 1)
