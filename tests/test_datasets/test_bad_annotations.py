# Copyright (c) sak_mm contributors. All rights reserved.
"""Bad annotations are refused when loaded, naming the file and what was
expected, or (NaN depth) read as missing by loss and metric alike."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from sak_mm.datasets import NYUDv2Dataset, make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.models import MaskedL1Loss
from sak_mm.structures import get_field
from tests.test_engine.demo_run import DEMO, options

PIPELINE = [dict(type='LoadImage'), dict(type='LoadDenseAnnotations'),
            dict(type='PackMultiTaskInputs')]


@pytest.fixture
def rooms(tmp_path):
    return str(make_demo_nyud(str(tmp_path / 'rooms'), num_train=2,
                              num_val=1, size=(30, 40), seed=1))


def first(root, folder):
    """The file of ``folder`` (segmentation, depth, ...) of the first
    training image."""
    with open(osp.join(root, 'gt_sets', 'train.txt')) as f:
        idx = f.readline().strip()
    suffix = '.npy' if folder == 'depth' else '.png'
    return osp.join(root, folder, idx + suffix)


def dataset(root):
    return NYUDv2Dataset(data_root=root, split='train', pipeline=PIPELINE)


def test_out_of_range_classes_name_the_file_and_the_range(rooms):
    path = first(rooms, 'segmentation')
    label = np.asarray(Image.open(path)).copy()
    label[0, 0] = 45  # class 44 of 40
    Image.fromarray(label).save(path)
    with pytest.raises(ValueError, match=rf'{path}: semseg labels must be '
                       r'in \[0, 40\) or 255 \(ignore\), found \[44\]'):
        dataset(rooms)[0]


def test_ids_listed_twice_in_a_split_are_refused(rooms):
    """They used to be trained on and scored twice without a word."""
    split = osp.join(rooms, 'gt_sets', 'train.txt')
    with open(split) as f:
        idx = f.readline().strip()
    with open(split, 'a') as f:
        f.write(f'\n{idx}\n')
    with pytest.raises(ValueError, match=rf"split file '{split}' lists 1 "
                       rf"id\(s\) more than once, e.g. \['{idx}'\]"):
        dataset(rooms)


def test_maps_without_a_valid_pixel_are_logged_once(rooms, monkeypatch):
    """A class map all void or a depth map all missing trains and scores
    nothing; it used to pass without a word."""
    from sak_mm.datasets.transforms import loading
    logged = []
    monkeypatch.setattr(loading, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    segmentation, depth = first(rooms, 'segmentation'), first(rooms, 'depth')
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(segmentation)
    np.save(depth, np.zeros((30, 40), np.float32))
    data = dataset(rooms)
    data[0], data[0], data[1]
    assert logged == [
        f'{segmentation}: the semseg map has no valid pixel (nothing to '
        f'train or score on this image)',
        f'{depth}: the depth map has no valid pixel (nothing to train or '
        f'score on this image)']


def test_soft_boundary_maps_are_refused(rooms):
    path = first(rooms, 'edge')
    edge = np.asarray(Image.open(path)).copy()
    edge[0, :3] = 128
    Image.fromarray(edge).save(path)
    with pytest.raises(ValueError, match=rf'{path}: a boundary map holds 0 '
                       r'and 255 only, found \[128\]'):
        dataset(rooms)[0]


def test_truncated_files_are_named(rooms):
    path = first(rooms, 'normals')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 3])
    with pytest.raises((ValueError, OSError), match=path):
        dataset(rooms)[0]


def test_pickled_depth_is_refused_with_its_file(rooms):
    depth = first(rooms, 'depth')
    np.save(depth, np.array([{'not': 'numbers'}], dtype=object),
            allow_pickle=True)
    with pytest.raises(ValueError, match=depth.replace('.', r'\.')):
        dataset(rooms)[0]


def test_nan_depth_is_missing_for_loss_and_metric(rooms):
    path = first(rooms, 'depth')
    depth = np.load(path)
    depth[:4, :4] = np.nan
    depth[4, 4] = np.inf
    np.save(path, depth)
    sample = dataset(rooms)[0]['data_samples']
    gt = sample.gt.depth[None]
    assert torch.isfinite(gt).all()
    assert (gt[0, 0, :4, :4] == 0).all() and gt[0, 0, 4, 4] == 0
    valid = get_field('depth').valid_mask(gt)
    assert not valid[0, 0, :4, :4].any()
    loss = MaskedL1Loss()(torch.zeros_like(gt), gt, valid)
    assert torch.isfinite(loss)


def test_heads_without_labels_in_the_training_set_are_refused(tmp_path):
    rooms = str(make_demo_nyud(str(tmp_path / 'rooms'), num_train=2,
                               num_val=1, size=(60, 80), seed=1))
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(options(rooms, iters=1))
    cfg.train_dataloader.dataset.tasks = ['semseg', 'depth']
    cfg.work_dir = str(tmp_path / 'work')
    # said against the config's own tasks: refused before anything is built
    with pytest.raises(ValueError, match=r"contradicts the config's "
                       r"tasks=\['semseg', 'depth', 'normals', 'edge'\]"):
        SAKRunner.from_cfg(copy.deepcopy(cfg))
    # a config without the top-level tasks: the hook finds it at the start
    cfg.pop('tasks')
    with pytest.raises(ValueError, match=r"no labels for \['normals', "
                       r"'edge'\]"):
        SAKRunner.from_cfg(cfg).train()


def test_odd_images_are_read_right_or_refused_by_name(tmp_path):
    """A 16-bit grey PNG reads as its 8-bit twin (it read as all 255); an
    EXIF-rotated image is refused (it was read unrotated, upside-down
    against labels drawn on the displayed image); a truncated image is
    named (PIL said only 'image file is truncated')."""
    from sak_mm.datasets.transforms import LoadImage
    load = LoadImage()
    grey = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) % 256
    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / 'grey8.png')
    Image.fromarray((grey * 257).astype(np.uint16)).save(
        tmp_path / 'grey16.png')
    eight = load(dict(img_path=str(tmp_path / 'grey8.png')))['img']
    sixteen = load(dict(img_path=str(tmp_path / 'grey16.png')))['img']
    assert Image.open(tmp_path / 'grey16.png').mode.startswith('I')
    assert sixteen.dtype == np.uint8 and sixteen.shape == (48, 64, 3)
    np.testing.assert_array_equal(sixteen, eight)

    rotated = str(tmp_path / 'rotated.jpg')
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated by 180 degrees
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(rotated, exif=exif)
    with pytest.raises(ValueError, match=rf'{rotated}: EXIF orientation 3'):
        load(dict(img_path=rotated))

    truncated = str(tmp_path / 'truncated.png')
    Image.fromarray(np.random.randint(0, 255, (64, 64, 3), np.uint8)).save(
        truncated)
    with open(truncated, 'rb') as f:
        data = f.read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(OSError, match=rf'{truncated}: the image does not '
                       r'decode'):
        load(dict(img_path=truncated))
