# Copyright (c) sak_mm contributors. All rights reserved.
"""A procedural NYUD-v2-format dataset: rendered rooms of planes and boxes.

Every label is derived from the same geometry, so the tasks are consistent
and learnable: depth is the z-distance of the ray hit, normals are the hit
surface's orientation in camera coordinates, semantic classes come from the
surface's object, and boundaries mark label or depth discontinuities. The
files are written in the exact layout :class:`NYUDv2Dataset` reads.

.. code:: text

    camera at the origin looking down +z (x right, y up)
    room: walls x = +-wx, floor y = -hf, ceiling y = +hc, back wall z = D
    1-4 boxes standing on the floor, each an NYUD furniture class
    image = class colour x Lambert shading x texture noise
"""
import os
import os.path as osp
from typing import Tuple

import numpy as np
from PIL import Image

# NYUD label values as stored in segmentation PNGs (class index + 1).
WALL, FLOOR, CEILING, WINDOW = 1, 2, 22, 9
FURNITURE = (3, 4, 5, 6, 7, 10, 14, 17)  # cabinet, bed, chair, ... dresser

_rng_colours = np.random.default_rng(12345)
#: a fixed colour per NYUD label value, so appearance predicts the class
CLASS_COLOURS = _rng_colours.integers(40, 230, size=(41, 3)).astype(np.float32)


def _ray_directions(h: int, w: int, focal: float) -> np.ndarray:
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.stack([(u - (w - 1) / 2) / focal, -(v - (h - 1) / 2) / focal,
                  np.ones_like(u)], axis=-1)
    return d  # z component is 1, so the hit distance t equals depth


def _hit_room(d: np.ndarray, wx: float, hf: float, hc: float, depth: float):
    """Nearest hit of rays from the origin with the inside of the room."""
    h, w, _ = d.shape
    t_best = np.full((h, w), np.inf, np.float32)
    normal = np.zeros((h, w, 3), np.float32)
    label = np.zeros((h, w), np.int64)
    planes = [  # (axis, position, inward normal, label)
        (0, -wx, (1, 0, 0), WALL), (0, wx, (-1, 0, 0), WALL),
        (1, -hf, (0, 1, 0), FLOOR), (1, hc, (0, -1, 0), CEILING),
        (2, depth, (0, 0, -1), WALL)
    ]
    with np.errstate(divide='ignore', invalid='ignore'):
        for axis, pos, n, lab in planes:
            t = pos / d[..., axis]
            closer = (t > 0) & (t < t_best)
            t_best[closer] = t[closer]
            normal[closer] = n
            label[closer] = lab
    return t_best, normal, label


def _hit_box(d: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Slab test of rays from the origin against an axis-aligned box."""
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = 1.0 / d
        t1, t2 = lo * inv, hi * inv
    t_near = np.minimum(t1, t2)
    t_far = np.maximum(t1, t2)
    t_enter = t_near.max(-1)
    t_exit = t_far.min(-1)
    hit = (t_enter <= t_exit) & (t_enter > 0)
    axis = t_near.argmax(-1)
    sign = -np.sign(np.take_along_axis(d, axis[..., None], -1)[..., 0])
    normal = np.zeros(d.shape, np.float32)
    np.put_along_axis(normal, axis[..., None], sign[..., None], -1)
    return np.where(hit, t_enter, np.inf).astype(np.float32), normal


def render_room(rng: np.random.Generator, size: Tuple[int, int] = (120, 160)):
    """Render one room; returns ``(image, label, depth, normals, edges)``.

    ``label`` holds NYUD PNG values (0 = void, 1..40), ``depth`` metres (0 =
    missing), ``normals`` unit vectors, ``edges`` 0/1.
    """
    h, w = size
    d = _ray_directions(h, w, focal=0.9 * w)
    wx, hf, hc = rng.uniform(1.6, 2.6), rng.uniform(1.0, 1.5), rng.uniform(
        1.0, 1.6)
    room_depth = rng.uniform(4.0, 7.0)
    t, normal, label = _hit_room(d, wx, hf, hc, room_depth)

    # a window or picture on the back wall: same plane, other class
    pts = d * t[..., None]
    wx0, wy0 = rng.uniform(-wx + 0.3, wx - 1.2), rng.uniform(-0.2, 0.6)
    on_window = ((label == WALL) & (np.abs(pts[..., 2] - room_depth) < 1e-3)
                 & (pts[..., 0] > wx0) & (pts[..., 0] < wx0 + 0.9)
                 & (pts[..., 1] > wy0) & (pts[..., 1] < wy0 + 0.6))
    label[on_window] = WINDOW

    for _ in range(rng.integers(1, 5)):
        bw, bh, bd = rng.uniform(0.4, 1.4), rng.uniform(0.3, 1.3), rng.uniform(
            0.3, 1.0)
        x0 = rng.uniform(-wx, wx - bw)
        z0 = rng.uniform(1.8, room_depth - bd)
        lo = np.array([x0, -hf, z0], np.float32)
        hi = np.array([x0 + bw, -hf + bh, z0 + bd], np.float32)
        tb, nb = _hit_box(d, lo, hi)
        closer = tb < t
        t[closer] = tb[closer]
        normal[closer] = nb[closer]
        label[closer] = rng.choice(FURNITURE)

    depth = t.astype(np.float32)
    light = np.array([0.3, 0.6, -0.75], np.float32)
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(-(normal @ light), 0, 1) + 0.25
    base = CLASS_COLOURS[label] * rng.uniform(0.85, 1.15, size=3)
    texture = rng.normal(0, 6, size=(h, w, 1))
    image = np.clip(base * shade[..., None] / (1 + 0.05 * depth[..., None]) +
                    texture, 0, 255).astype(np.uint8)

    # boundaries: label change or a relative depth jump to a neighbour
    edges = np.zeros((h, w), bool)
    for dy, dx in ((0, 1), (1, 0)):
        a_l, b_l = label[:h - dy, :w - dx], label[dy:, dx:]
        a_d, b_d = depth[:h - dy, :w - dx], depth[dy:, dx:]
        jump = (a_l != b_l) | (np.abs(a_d - b_d) > 0.08 * np.minimum(a_d, b_d))
        edges[:h - dy, :w - dx] |= jump

    # a few missing depth readings and void labels, as in the real data
    holes = rng.random((h, w)) < 0.01
    depth[holes] = 0.0
    label[rng.random((h, w)) < 0.005] = 0
    return image, label, depth, normal, edges.astype(np.uint8)


def make_demo_nyud(root: str,
                   num_train: int = 48,
                   num_val: int = 12,
                   size: Tuple[int, int] = (120, 160),
                   seed: int = 0) -> str:
    """Write a demo dataset in the NYUD-v2 multi-task layout under ``root``.

    Returns ``root``. Existing files with the same names are overwritten.
    """
    rng = np.random.default_rng(seed)
    for sub in ('images', 'segmentation', 'depth', 'normals', 'edge',
                'gt_sets'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    splits = {'train': num_train, 'val': num_val}
    for split, count in splits.items():
        ids = [f'{split}_{i:04d}' for i in range(count)]
        for idx in ids:
            image, label, depth, normal, edges = render_room(rng, size)
            Image.fromarray(image).save(osp.join(root, 'images', idx + '.png'))
            Image.fromarray(label.astype(np.uint8)).save(
                osp.join(root, 'segmentation', idx + '.png'))
            np.save(osp.join(root, 'depth', idx + '.npy'), depth)
            normal_u8 = np.round((normal + 1) / 2 * 255).astype(np.uint8)
            Image.fromarray(normal_u8).save(
                osp.join(root, 'normals', idx + '.png'))
            Image.fromarray(edges * 255).save(
                osp.join(root, 'edge', idx + '.png'))
        with open(osp.join(root, 'gt_sets', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return root
