# Copyright (c) sak_mm contributors. All rights reserved.
"""A tiny PASCAL-Context written in the release's real formats (JPEG,
index PNGs, PASCAL-Part ``anno`` .mat files, LabelMap .mat files, json)."""
import json
import os

import numpy as np
import scipy.io as sio
from PIL import Image

H, W = 40, 56
# context classes: valid for normals are wall (5), floor (7), tvmonitor (12)
CONTEXT = {'unknown': 0, 'wall': 5, 'floor': 7, 'bed': 9, 'sky': 11,
           'tvmonitor': 12}
NYU = ['wall', 'floor', 'unknown', 'pillow']


def _parts_mat(path, objects):
    """objects: list of (class_ind, mask, [(part_name, mask), ...])."""
    obj = np.zeros((1, len(objects)), dtype=[('class', 'O'),
                                              ('class_ind', 'O'),
                                              ('mask', 'O'), ('parts', 'O')])
    for j, (cls, mask, parts) in enumerate(objects):
        if parts:
            arr = np.zeros((1, len(parts)), dtype=[('part_name', 'O'),
                                                   ('mask', 'O')])
            for i, (name, pmask) in enumerate(parts):
                arr[0, i] = (np.array([name]), pmask.astype(np.uint8))
        else:
            arr = np.zeros((0, 0))
        obj[0, j] = ('obj', np.array([[cls]]), mask.astype(np.uint8), arr)
    anno = np.zeros((1, 1), dtype=[('imname', 'O'), ('objects', 'O')])
    anno[0, 0] = ('img', obj)
    sio.savemat(path, {'anno': anno})


def make_pascal(root):
    for sub in ('JPEGImages', 'semseg/VOC12', 'semseg/pascal-context',
                'human_parts', 'sal_distill', 'normals_distill',
                'pascal-context/trainval', 'json', 'ImageSets/Context'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, 'json', 'nyu_classes.json'), 'w') as f:
        json.dump(NYU, f)
    with open(os.path.join(root, 'json', 'context_classes.json'), 'w') as f:
        json.dump(CONTEXT, f)
    rng = np.random.default_rng(0)
    ids = ['2008_000001', '2008_000002', '2008_000003']
    for k, idx in enumerate(ids):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(
            os.path.join(root, 'JPEGImages', idx + '.jpg'))
        seg = np.zeros((H, W), np.uint8)
        seg[10:30, 10:30] = 15  # a person box
        seg[:, 40:] = 3
        sub = 'VOC12' if k == 0 else 'pascal-context'
        Image.fromarray(seg).save(
            os.path.join(root, 'semseg', sub, idx + '.png'))
        label_map = np.full((H, W), CONTEXT['wall'], np.uint16)
        label_map[25:, :] = CONTEXT['floor']
        label_map[:8, :] = CONTEXT['sky']  # no normals on the sky
        label_map[5:15, 45:55] = CONTEXT['tvmonitor']
        sio.savemat(os.path.join(root, 'pascal-context', 'trainval',
                                 idx + '.mat'), {'LabelMap': label_map})
        normals = np.zeros((H, W, 3), np.uint8)
        normals[...] = (128, 128, 255)  # facing the camera
        Image.fromarray(normals).save(
            os.path.join(root, 'normals_distill', idx + '.png'))
        sal = np.zeros((H, W), np.uint8)
        sal[10:30, 10:30] = 200
        sal[0, 0] = 100  # below 0.5: background
        Image.fromarray(sal).save(
            os.path.join(root, 'sal_distill', idx + '.png'))
        person = np.zeros((H, W), bool)
        person[10:30, 10:30] = True
        head = np.zeros((H, W), bool)
        head[10:14, 15:25] = True
        torso = np.zeros((H, W), bool)
        torso[14:24, 12:28] = True
        lfoot = np.zeros((H, W), bool)
        lfoot[28:30, 12:16] = True
        objects = {
            0: [(15, person, [('head', head), ('torso', torso),
                              ('lfoot', lfoot)]),
                (3, ~person, [])],
            1: [(15, person, [])],  # a person without part annotation
            2: [(8, person, [])],  # no person at all
        }[k]
        _parts_mat(os.path.join(root, 'human_parts', idx + '.mat'), objects)
    for split in ('train', 'val'):
        with open(os.path.join(root, 'ImageSets', 'Context', split + '.txt'),
                  'w') as f:
            f.write('\n'.join(ids) + '\n')
    return root
