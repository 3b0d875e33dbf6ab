# Copyright (c) sak_mm contributors. All rights reserved.
"""Turn each kind of dense map into an RGB image (one table, by field kind).
"""
from typing import Optional, Tuple

import numpy as np
import torch

from sak_mm.structures import IGNORE_INDEX, get_field


def label_palette(num_classes: int = 256, seed: int = 7) -> np.ndarray:
    """A fixed, well-spread colour per class index; ignore (255) is black."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 256, size=(256, 3)).astype(np.uint8)
    palette[IGNORE_INDEX] = 0
    return palette


_PALETTE = label_palette()


def _to_numpy(x) -> np.ndarray:
    return x.detach().float().cpu().numpy() if isinstance(
        x, torch.Tensor) else np.asarray(x, dtype=np.float32)


def render_label(m: np.ndarray, **_) -> np.ndarray:
    return _PALETTE[np.clip(m[0], 0, 255).astype(np.int64)]


def render_depth(m: np.ndarray,
                 value_range: Optional[Tuple[float, float]] = None,
                 **_) -> np.ndarray:
    """Depth through the 'magma' colormap (near = dark); missing = black."""
    import matplotlib
    d = m[0]
    valid = d > 0
    lo, hi = value_range or ((d[valid].min(), d[valid].max())
                             if valid.any() else (0.0, 1.0))
    norm = np.clip((d - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = (matplotlib.colormaps['magma'](norm)[..., :3] * 255).astype(
        np.uint8)
    rgb[~valid] = 0
    return rgb


def render_normal(m: np.ndarray, **_) -> np.ndarray:
    """Unit normals as RGB, ``(n + 1) / 2``; missing (zero) = black."""
    n = np.moveaxis(m, 0, -1)
    rgb = ((n + 1) / 2 * 255).clip(0, 255).astype(np.uint8)
    rgb[(n == 0).all(-1)] = 0
    return rgb


def render_boundary(m: np.ndarray, **_) -> np.ndarray:
    """A probability (or 0/1 label) map as grey; ignore = dark red
    (boundaries and saliency)."""
    b = m[0]
    grey = (np.clip(b, 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, -1)
    rgb[b == IGNORE_INDEX] = (96, 0, 0)
    return rgb


RENDERERS = {
    'label': render_label,
    'saliency': render_boundary,
    'depth': render_depth,
    'normal': render_normal,
    'boundary': render_boundary,
}


def render_field(task: str, value, **kwargs) -> np.ndarray:
    """``(C, H, W)`` map of ``task`` -> ``(H, W, 3)`` uint8 RGB."""
    return RENDERERS[get_field(task).kind](_to_numpy(value), **kwargs)
