# Copyright (c) sak_mm contributors. All rights reserved.
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from sak_mm.registry import DATASETS

TEST_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='PackMultiTaskInputs')
]


def build(root, **kwargs):
    cfg = dict(type='NYUDv2Dataset', data_root=root, split='val',
               pipeline=TEST_PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_decoding_follows_the_release_format(demo_root):
    ds = build(demo_root)
    assert len(ds) == 4 and ds.metainfo['classes'][0] == 'wall'
    item = ds[0]
    idx = ds.get_data_info(0)['img_id']
    raw_seg = np.asarray(Image.open(f'{demo_root}/segmentation/{idx}.png'))
    raw_nrm = np.asarray(Image.open(f'{demo_root}/normals/{idx}.png'),
                         dtype=np.float32)
    raw_edge = np.asarray(Image.open(f'{demo_root}/edge/{idx}.png'))
    depth = np.load(f'{demo_root}/depth/{idx}.npy')
    gt = item['data_samples'].gt
    assert item['inputs'].shape == (3, 60, 80)
    assert item['inputs'].dtype == torch.uint8
    seg = gt.semseg[0].numpy()
    assert gt.semseg.dtype == torch.int64
    assert (seg[raw_seg == 0] == 255).all()  # void -> ignore
    assert (seg[raw_seg > 0] == raw_seg[raw_seg > 0] - 1).all()
    np.testing.assert_allclose(gt.normals.permute(1, 2, 0).numpy(),
                               2 * raw_nrm / 255.0 - 1, atol=1e-6)
    np.testing.assert_array_equal(gt.edge[0].numpy(), raw_edge / 255.0)
    np.testing.assert_array_equal(gt.depth[0].numpy(), depth)
    assert item['data_samples'].ori_shape == (60, 80)


def test_subset_of_tasks(demo_root):
    ds = build(demo_root, tasks=['depth'])
    assert list(ds[0]['data_samples'].gt.keys()) == ['depth']
    with pytest.raises(ValueError, match='no task'):
        build(demo_root, tasks=['sal'])


def test_missing_root_split_and_files_are_reported(demo_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='expected layout'):
        build(str(tmp_path / 'absent'))
    broken = tmp_path / 'nyud'
    shutil.copytree(demo_root, broken)
    os.remove(broken / 'gt_sets' / 'val.txt')
    with pytest.raises(FileNotFoundError, match=r'gt_sets/val\.txt'):
        build(str(broken))
    shutil.copy(os.path.join(demo_root, 'gt_sets', 'val.txt'),
                broken / 'gt_sets' / 'val.txt')
    os.remove(broken / 'depth' / 'val_0002.npy')
    with pytest.raises(FileNotFoundError, match=r'depth/val_0002\.npy'):
        build(str(broken))


def test_wrong_annotation_size_is_an_error(demo_root, tmp_path):
    broken = tmp_path / 'nyud'
    shutil.copytree(demo_root, broken)
    np.save(broken / 'depth' / 'val_0000.npy', np.ones((5, 5), np.float32))
    ds = build(str(broken))
    with pytest.raises(ValueError, match='val_0000.npy'):
        ds[0]
