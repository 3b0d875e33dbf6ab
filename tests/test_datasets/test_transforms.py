# Copyright (c) sak_mm contributors. All rights reserved.
from unittest import mock

import numpy as np
import pytest

from sak_mm.datasets.transforms import (PhotoMetricDistortion, RandomCrop,
                                        RandomHorizontalFlip, RandomRescale)


def sample(h=8, w=10):
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(h, w, 3)).astype(np.float32)
    return dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        img_shape=(h, w),
        gt_fields=dict(
            semseg=rng.integers(0, 3, (h, w, 1)).astype(np.float32),
            depth=rng.uniform(1, 5, (h, w, 1)).astype(np.float32),
            normals=normals,
            edge=rng.integers(0, 2, (h, w, 1)).astype(np.float32)))


def test_flip_mirrors_every_field_and_negates_normal_x():
    s = sample()
    orig = {k: v.copy() for k, v in s['gt_fields'].items()}
    out = RandomHorizontalFlip(prob=1.0)(s)
    assert out['flip'] is True
    np.testing.assert_array_equal(out['gt_fields']['semseg'],
                                  orig['semseg'][:, ::-1])
    n = out['gt_fields']['normals']
    np.testing.assert_array_equal(n[..., 0], -orig['normals'][:, ::-1, 0])
    np.testing.assert_array_equal(n[..., 1:], orig['normals'][:, ::-1, 1:])
    assert RandomHorizontalFlip(prob=0.0)(sample())['flip'] is False


def test_rescale_divides_depth_and_keeps_labels_nearest():
    s = sample(8, 10)
    depth = s['gt_fields']['depth'].copy()
    with mock.patch('numpy.random.uniform', return_value=2.0):
        out = RandomRescale((0.5, 2.0))(s)
    assert out['img'].shape == (16, 20, 3) and out['img_shape'] == (16, 20)
    # nearest: each source pixel becomes a 2x2 block, value / 2
    np.testing.assert_allclose(out['gt_fields']['depth'][::2, ::2],
                               depth / 2.0)
    assert set(np.unique(out['gt_fields']['semseg'])) <= {0, 1, 2}
    assert out['gt_fields']['semseg'].shape == (16, 20, 1)
    assert out['gt_fields']['normals'].shape == (16, 20, 3)
    with pytest.raises(ValueError):
        RandomRescale((2.0, 1.0))


def test_crop_retries_until_no_class_dominates():
    s = sample(20, 20)
    seg = np.zeros((20, 20, 1), np.float32)
    seg[:, 15:] = 1  # only windows reaching x >= 15 see two classes
    s['gt_fields']['semseg'] = seg
    np.random.seed(0)
    out = RandomCrop((10, 10), cat_max_ratio=0.75)(s)
    values, counts = np.unique(out['gt_fields']['semseg'], return_counts=True)
    assert len(values) == 2 and counts.max() / counts.sum() < 0.75
    assert out['img'].shape == (10, 10, 3)
    for field in out['gt_fields'].values():
        assert field.shape[:2] == (10, 10)
    # a smaller image is kept whole (padding happens in the preprocessor)
    small = RandomCrop((30, 30))(sample(8, 10))
    assert small['img'].shape == (8, 10, 3)


def test_photometric_distortion_changes_only_the_image():
    s = sample()
    img = s['img'].copy()
    depth = s['gt_fields']['depth'].copy()
    np.random.seed(1)
    outs = [PhotoMetricDistortion()(dict(s, img=img.copy()))['img']
            for _ in range(5)]
    assert any(not np.array_equal(o, img) for o in outs)
    assert all(o.dtype == np.uint8 and o.shape == img.shape for o in outs)
    np.testing.assert_array_equal(s['gt_fields']['depth'], depth)


def test_random_resized_crop_outputs_size_and_follows_fields():
    from sak_mm.datasets.transforms import RandomResizedCrop
    s = sample(40, 60)
    np.random.seed(0)
    out = RandomResizedCrop((16, 24), scale=(0.3, 1.0))(s)
    assert out['img'].shape == (16, 24, 3) and out['img_shape'] == (16, 24)
    assert out['gt_fields']['semseg'].shape == (16, 24, 1)
    assert set(np.unique(out['gt_fields']['semseg'])) <= {0, 1, 2}
    # an unlabelled image (stage 1) needs no gt_fields
    plain = RandomResizedCrop(8)(dict(img=np.zeros((20, 30, 3), np.uint8)))
    assert plain['img'].shape == (8, 8, 3)
    flipped = RandomHorizontalFlip(prob=1.0)(plain)
    assert flipped['flip'] is True


def test_rotate_zoom_keeps_the_size_and_divides_depth():
    """MTLoRA's NYUD zoom: one of a set of factors about the centre, the
    image size kept; depth divided by the factor, labels nearest."""
    from sak_mm.datasets.transforms import RandomRotate
    s = sample(9, 9)
    depth = s['gt_fields']['depth'].copy()
    with mock.patch('numpy.random.randint', return_value=1):
        out = RandomRotate(prob=1.0, degree=(0, 0),
                           zoom_choices=(1.0, 3.0))(s)
    assert out['zoom'] == 3.0 and out['img'].shape == (9, 9, 3)
    # zoom 3 about the centre pixel (4, 4): the centre keeps its value
    assert out['gt_fields']['depth'][4, 4, 0] == pytest.approx(
        depth[4, 4, 0] / 3.0)
    assert out['gt_fields']['semseg'][4, 4, 0] == s['gt_fields']['semseg'][
        4, 4, 0]
    # the pixel 3 to the right of the centre reads the one 1 to the right
    assert out['gt_fields']['depth'][4, 7, 0] == pytest.approx(
        depth[4, 5, 0] / 3.0)
    with pytest.raises(ValueError, match='not both'):
        RandomRotate(zoom_range=(0.5, 1.5), zoom_choices=(1.0, ))
    with pytest.raises(ValueError, match='positive'):
        RandomRotate(zoom_choices=(0.0, ))


def test_fixed_resize_resizes_labels_and_scores_at_the_new_size():
    from sak_mm.datasets.transforms import FixedResize
    s = sample(8, 10)
    s['ori_shape'] = (8, 10)
    labels = s['gt_fields']['semseg'].copy()
    out = FixedResize((16, 20))(s)
    assert out['img'].shape == (16, 20, 3)
    assert out['img_shape'] == out['ori_shape'] == (16, 20)
    np.testing.assert_array_equal(out['gt_fields']['semseg'][::2, ::2],
                                  labels)
    assert out['gt_fields']['depth'].shape == (16, 20, 1)
    image_only = FixedResize(12)(dict(img=np.zeros((8, 10, 3), np.uint8),
                                      img_shape=(8, 10), ori_shape=(8, 10)))
    assert image_only['img_shape'] == (12, 12)
    assert image_only['ori_shape'] == (8, 10)  # predictions go back there
