# Copyright (c) sak_mm contributors. All rights reserved.
"""The boundary-detection benchmark of the multi-task literature (SEISM's
protocol, BSDS pixel matching) in Python.

.. code:: text

    prediction (8-bit edge probability, padding cropped)
      -> non-maximum suppression (Dollar's edge NMS; preset 'sak': triangle
         smoothing radius 1, orientation from a radius-4 smoothed map,
         r=1, s=5, m=1.01; preset 'invpt': the same without the smoothing)
      -> for each threshold t in 0.01 ... 0.99: thin(nms >= t)
      -> BSDS pixel correspondence with the ground truth (thinned seg2bmap
         of the label map) within max_dist * image diagonal, outlier cost 100
      -> per image and threshold: matched / total predicted and GT pixels

Counts are summed over the dataset: ODS is the plain maximum F over the
thresholds (no interpolation, as SEISM), OIS uses each image's best
threshold, AP is the area under the precision-recall points.

The pixel matching is the BSDS C++ core shipped by ``pyEdgeEval`` (an
optional dependency that compiles a small extension). Its random outlier
graph is re-seeded before every image, so results do not depend on worker
scheduling or on the time of day.
"""
import ctypes
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

THRESHOLDS = np.linspace(0.01, 0.99, 99)
NMS_PRESETS = ('sak', 'invpt', None)
_MISSING = ('boundary evaluation needs pyEdgeEval (BSDS pixel matching, a '
            'small C++ extension): pip install pyEdgeEval')


def _edge_core():
    """``(correspond_pixels, nms, path of the matcher's shared object)``."""
    import sys
    try:
        from pyEdgeEval._lib import correspond_pixels, nms
    except ImportError as err:
        raise ImportError(_MISSING) from err
    path = sys.modules['pyEdgeEval._lib.correspond_pixels'].__file__
    return correspond_pixels, nms, path


_RESEED = None


def _reseed(seed: int) -> None:
    """Seed the BSDS matcher's global random generator (``Random::rand``),
    which it otherwise seeds from the clock."""
    global _RESEED
    if _RESEED is None:
        _, _, path = _edge_core()
        lib = ctypes.CDLL(path)
        addr = ctypes.addressof(ctypes.c_char.in_dll(lib, '_ZN6Random4randE'))
        fn = lib._ZN6Random6reseedEm
        fn.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        fn.restype = None
        _RESEED = (fn, addr)
    fn, addr = _RESEED
    fn(addr, seed)


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """Boundary map of a label map: a pixel is on a boundary when its label
    differs from its right, lower or lower-right neighbour (BSDS
    ``seg2bmap`` at the label map's own size)."""
    seg = np.asarray(seg)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    southeast = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    southeast[:-1, :-1] = seg[1:, 1:]
    b = (seg != east) | (seg != south) | (seg != southeast)
    b[-1, :] = seg[-1, :] != east[-1, :]
    b[:, -1] = seg[:, -1] != south[:, -1]
    b[-1, -1] = False
    return b


def thin(bmap: np.ndarray) -> np.ndarray:
    """Morphological thinning to one-pixel-wide lines (MATLAB ``bwmorph``
    'thin', Lam-Lee-Suen 1992, as implemented by scikit-image)."""
    from skimage.morphology import thin as _thin
    return _thin(np.asarray(bmap, bool))


def edge_nms(prob: np.ndarray, preset: Optional[str] = 'sak') -> np.ndarray:
    """Dollar's edge non-maximum suppression of a ``[0, 1]`` map, with the
    orientation estimate of his edges toolbox
    (``atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)) mod pi``). The result is
    quantised to 8 bits, as the NMS step writes PNGs that SEISM reads."""
    if preset is None:
        return prob.astype(np.float64)
    if preset not in NMS_PRESETS:
        raise ValueError(f'unknown NMS preset {preset!r}; choose from '
                         f'{NMS_PRESETS}')
    from pyEdgeEval.preprocess.nms.toolbox import conv_tri, grad2
    _, nms, _ = _edge_core()
    edge = prob.astype(np.float64)
    if preset == 'sak':
        edge = conv_tri(edge, 1)
    ox, oy = grad2(conv_tri(edge, 4))
    oxx, _ = grad2(ox)
    oxy, oyy = grad2(oy)
    ori = np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)
    out = np.clip(nms(edge, ori, 1, 5, 1.01), 0, 1)
    return np.round(out * 255) / 255


def image_counts(pred_u8: np.ndarray,
                 gt: np.ndarray,
                 max_dist: float,
                 nms: Optional[str] = 'sak',
                 thresholds: Sequence[float] = THRESHOLDS,
                 seed: int = 1) -> np.ndarray:
    """Matching counts of one image: ``(T, 4)`` rows of ``(matched GT,
    total GT, matched prediction, total prediction)`` per threshold.

    Args:
        pred_u8: ``(H, W)`` uint8 edge probability map (SEISM's input).
        gt: ``(H, W)`` boolean ground-truth boundaries (already thin).
        max_dist: Matching tolerance as a fraction of the image diagonal
            (0.011 for NYUD-v2, 0.0075 for PASCAL-Context).
        nms: NMS preset (``'sak'``, ``'invpt'``) or None.
        seed: Seed of the matcher's random outlier graph.
    """
    correspond, _, _ = _edge_core()
    if pred_u8.shape != gt.shape:
        raise ValueError(f'prediction {pred_u8.shape} and ground truth '
                         f'{gt.shape} differ in size')
    edges = edge_nms(pred_u8.astype(np.float64) / 255.0, nms)
    gt = np.asarray(gt, bool)
    gt_f = gt.astype(np.float64)
    total_gt = int(gt.sum())
    out = np.zeros((len(thresholds), 4), np.int64)
    last_bmap, last_row = None, None
    for i, t in enumerate(thresholds):
        bmap = thin(edges >= t)
        if last_bmap is not None and np.array_equal(bmap, last_bmap):
            out[i] = last_row  # same binary map, same matching
            continue
        if not bmap.any() or total_gt == 0:
            row = (0, total_gt, 0, int(bmap.sum()))
        else:
            _reseed(seed)
            m_pred, m_gt, _, _ = correspond(
                bmap.astype(np.float64), gt_f, max_dist, 100.0)
            row = (int((m_gt > 0).sum()), total_gt, int((m_pred > 0).sum()),
                   int(bmap.sum()))
        out[i] = row
        last_bmap, last_row = bmap, row
    return out


def _f(p, r):
    return np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)


def summarize(counts: Sequence[np.ndarray],
              thresholds: Sequence[float] = THRESHOLDS) -> Dict[str, float]:
    """Dataset-level ODS, OIS and AP (fractions in [0, 1]) from per-image
    ``(T, 4)`` counts."""
    stack = np.stack(counts).astype(np.float64)  # N, T, 4
    tot = stack.sum(0)
    recall = tot[:, 0] / np.maximum(tot[:, 1], 1)
    precision = np.where(tot[:, 3] > 0, tot[:, 2] / np.maximum(tot[:, 3], 1),
                         1.0)
    f = _f(precision, recall)
    best = int(f.argmax())
    # OIS: every image at its own best threshold
    img_r = stack[..., 0] / np.maximum(stack[..., 1], 1)
    img_p = np.where(stack[..., 3] > 0,
                     stack[..., 2] / np.maximum(stack[..., 3], 1), 1.0)
    pick = _f(img_p, img_r).argmax(1)
    sel = stack[np.arange(len(stack)), pick].sum(0)
    ois_r = sel[0] / max(sel[1], 1)
    ois_p = sel[2] / sel[3] if sel[3] > 0 else 1.0
    order = np.argsort(recall)
    ap = float(np.trapezoid(precision[order], recall[order])) \
        if hasattr(np, 'trapezoid') else float(
            np.trapz(precision[order], recall[order]))
    return dict(
        odsF=float(f[best]),
        odsP=float(precision[best]),
        odsR=float(recall[best]),
        odsT=float(thresholds[best]),
        oisF=float(_f(np.array(ois_p), np.array(ois_r))),
        AP=ap)


def evaluate_images(pairs: Sequence[Tuple[np.ndarray, np.ndarray]],
                    max_dist: float,
                    nms: Optional[str] = 'sak',
                    num_workers: int = 0,
                    seed: int = 1) -> Dict[str, float]:
    """ODS/OIS/AP over ``(pred_u8, gt_bool)`` pairs, optionally in worker
    processes (results do not depend on ``num_workers``)."""
    args = [(p, g, max_dist, nms, THRESHOLDS, seed) for p, g in pairs]
    if num_workers > 0:
        import multiprocessing as mp
        with mp.get_context('fork').Pool(num_workers) as pool:
            counts = pool.starmap(image_counts, args, chunksize=1)
    else:
        counts = [image_counts(*a) for a in args]
    return summarize(counts)
