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

Two backends compute the same counts:

* ``'fast'`` (default): :mod:`sak_mm.evaluation.boundary_fast`, numba
  kernels that rebuild the BSDS matcher's random outlier graph draw for
  draw and find the same number of matches without its assignment solver,
  with their own NMS and thinning (equal to the reference's);
* ``'exact-reference'``: the BSDS C++ core shipped by ``pyEdgeEval`` (an
  optional dependency that compiles a small extension), its NMS and
  scikit-image's thinning. Its random outlier graph is re-seeded before
  every call, so results do not depend on worker scheduling or on the
  time of day.
"""
import ctypes
import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from sak_mm.utils.stop_signals import ignore_stop_signals, training_event

THRESHOLDS = np.linspace(0.01, 0.99, 99)
NMS_PRESETS = ('sak', 'invpt', None)
BACKENDS = ('fast', 'exact-reference')
#: Dollar's NMS multiplier, a C float in pyEdgeEval's binding
NMS_MULTIPLIER = float(np.float32(1.01))
_MISSING = ('boundary evaluation needs pyEdgeEval (BSDS pixel matching, a '
            'small C++ extension): pip install pyEdgeEval')


def _edge_core():
    """``(correspond_pixels, nms, path of the matcher's shared object)``."""
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


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f'unknown boundary backend {backend!r}; choose '
                         f'from {BACKENDS}')


def thin(bmap: np.ndarray, backend: str = 'fast') -> np.ndarray:
    """Morphological thinning to one-pixel-wide lines (MATLAB ``bwmorph``
    'thin', Lam-Lee-Suen 1992): numba (``'fast'``) or scikit-image's."""
    check_backend(backend)
    if backend == 'fast':
        from .boundary_fast import thin as fast_thin
        return fast_thin(bmap)
    from skimage.morphology import thin as _thin
    return _thin(np.asarray(bmap, bool))


def triangle_blur(img: np.ndarray, r: int) -> np.ndarray:
    """Dollar's ``convTri``: separable triangle filter of radius ``r``
    (``r <= 1``: the ``[1, p, 1]`` kernel with ``p = 12 / r / (r + 2) -
    2``) over a symmetrically padded image."""
    from scipy.signal import convolve2d
    if r <= 1:
        p = 12 / r / (r + 2) - 2
        kernel = np.array([[1, p, 1]]) / (2 + p)
        r = 1
    else:
        kernel = np.array([list(range(1, r + 1)) + [r + 1] +
                           list(range(r, 0, -1))]) / (r + 1)**2
    kernel = kernel.astype(img.dtype)
    padded = np.pad(img, ((r, r), (r, r)), mode='symmetric')
    return convolve2d(convolve2d(padded, kernel, 'valid'), kernel.T,
                      'valid')


def edge_nms(prob: np.ndarray, preset: Optional[str] = 'sak',
             backend: str = 'fast') -> np.ndarray:
    """Dollar's edge non-maximum suppression of a ``[0, 1]`` map, with the
    orientation estimate of his edges toolbox
    (``atan(Oyy * sign(-Oxy) / (Oxx + 1e-5)) mod pi``). The result is
    quantised to 8 bits, as the NMS step writes PNGs that SEISM reads."""
    check_backend(backend)
    if preset is None:
        return prob.astype(np.float64)
    if preset not in NMS_PRESETS:
        raise ValueError(f'unknown NMS preset {preset!r}; choose from '
                         f'{NMS_PRESETS}')
    edge = prob.astype(np.float64)
    if preset == 'sak':
        edge = triangle_blur(edge, 1)
    oy, ox = np.gradient(triangle_blur(edge, 4))
    _, oxx = np.gradient(ox)
    oyy, oxy = np.gradient(oy)
    with np.errstate(divide='ignore', invalid='ignore'):  # x/0: pi/2
        ori = np.mod(np.arctan(oyy * np.sign(-oxy) / (oxx + 1e-5)), np.pi)
    if backend == 'fast':
        from .boundary_fast import suppress
        out = suppress(edge, ori, 1, 5, NMS_MULTIPLIER)
    else:
        _, nms, _ = _edge_core()
        out = nms(edge, ori, 1, 5, 1.01)
    return np.round(np.clip(out, 0, 1) * 255) / 255


def _reference_matcher(gt: np.ndarray, max_dist: float, seed: int):
    """``bmap -> (matched GT, matched predicted pixels)`` through
    pyEdgeEval's BSDS matcher."""
    correspond, _, _ = _edge_core()
    gt_f = gt.astype(np.float64)

    def count(bmap):
        _reseed(seed)
        m_pred, m_gt, _, _ = correspond(bmap.astype(np.float64), gt_f,
                                        max_dist, 100.0)
        return int((m_gt > 0).sum()), int((m_pred > 0).sum())

    return count


def _fast_matcher(edges: np.ndarray, gt: np.ndarray, max_dist: float,
                  lowest: float, seed: int):
    """``bmap -> (matched GT, matched predicted pixels)`` through
    :mod:`.boundary_fast` (a matching pairs them, so the two agree); the real
    edges of every pixel that a threshold ``>= lowest`` can keep are found
    once, and each threshold starts from the previous one's matching."""
    from .boundary_fast import candidate_neighbours, match_count
    h, w = gt.shape
    xs, ys = np.nonzero((edges >= lowest).T)  # column-major, as BSDS
    gx, gy = np.nonzero(gt.T)
    gt_index = np.full(gt.shape, -1, np.int64)
    gt_index[gy, gx] = np.arange(len(gx))
    indptr, neighbours = candidate_neighbours(
        ys, xs, gt_index, max_dist * math.sqrt(h * h + w * w))
    warm = np.full(len(xs), -1, np.int64)

    def count(bmap):
        hits = int(match_count(bmap[ys, xs], indptr, neighbours, len(gx),
                               seed, warm))
        return hits, hits

    return count


def image_counts(pred_u8: np.ndarray,
                 gt: np.ndarray,
                 max_dist: float,
                 nms: Optional[str] = 'sak',
                 thresholds: Sequence[float] = THRESHOLDS,
                 seed: int = 1,
                 backend: str = 'fast') -> np.ndarray:
    """Matching counts of one image: ``(T, 4)`` rows of ``(matched GT,
    total GT, matched prediction, total prediction)`` per threshold.

    Args:
        pred_u8: ``(H, W)`` uint8 edge probability map (SEISM's input).
        gt: ``(H, W)`` boolean ground-truth boundaries (already thin).
        max_dist: Matching tolerance as a fraction of the image diagonal
            (0.011 for NYUD-v2, 0.0075 for PASCAL-Context).
        nms: NMS preset (``'sak'``, ``'invpt'``) or None.
        seed: Seed of the matcher's random outlier graph.
        backend: ``'fast'`` or ``'exact-reference'`` (pyEdgeEval).
    """
    check_backend(backend)
    if pred_u8.shape != gt.shape:
        raise ValueError(f'prediction {pred_u8.shape} and ground truth '
                         f'{gt.shape} differ in size')
    edges = edge_nms(pred_u8.astype(np.float64) / 255.0, nms, backend)
    gt = np.asarray(gt, bool)
    total_gt = int(gt.sum())
    if backend == 'fast':
        matched = _fast_matcher(edges, gt, max_dist, min(thresholds), seed)
    else:
        matched = _reference_matcher(gt, max_dist, seed)
    out = np.zeros((len(thresholds), 4), np.int64)
    last_bmap, last_row = None, None
    for i, t in enumerate(thresholds):
        bmap = thin(edges >= t, backend)
        if last_bmap is not None and np.array_equal(bmap, last_bmap):
            out[i] = last_row  # same binary map, same matching
            continue
        total = int(bmap.sum())
        hits_gt, hits = matched(bmap) if total and total_gt else (0, 0)
        row = (hits_gt, total_gt, hits, total)
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


def _in_processes(func, args, num_workers: int,
                  done: Callable[[], None]) -> list:
    """``[func(*a) for a in args]`` in ``num_workers`` forked processes
    that ignore SIGTERM and SIGINT during training (a pre-empted run
    finishes its validation, :mod:`sak_mm.utils.stop_signals`), calling
    ``done()`` after each result. A worker that dies (the OOM killer, a
    kill) is an error within seconds, not a hang (a ``multiprocessing.Pool``
    replaced the worker and waited forever for its lost task)."""
    context = multiprocessing.get_context('fork')
    with ProcessPoolExecutor(num_workers, mp_context=context,
                             initializer=ignore_stop_signals,
                             initargs=(training_event(), )) as pool:
        try:
            results = []
            for result in pool.map(func, *zip(*args), chunksize=1):
                results.append(result)
                done()
            return results
        except BrokenProcessPool as error:
            raise RuntimeError(
                f'a worker process of the boundary matching died (killed, '
                f'e.g. by the out-of-memory killer) while {len(args)} '
                f'images were matched in {num_workers} processes; run it '
                f'with fewer (the metric\'s num_workers, e.g. --cfg-options '
                f'val_evaluator.task_metrics.edge.num_workers=0) or more '
                f'memory') from error


def evaluate_images(pairs: Sequence[Tuple[np.ndarray, np.ndarray]],
                    max_dist: float,
                    nms: Optional[str] = 'sak',
                    num_workers: int = 0,
                    seed: int = 1,
                    backend: str = 'fast',
                    progress: bool = True) -> Dict[str, float]:
    """ODS/OIS/AP over ``(pred_u8, gt_bool)`` pairs, optionally in worker
    processes (results do not depend on ``num_workers``). With
    ``progress``, says what it does and shows a progress bar over the
    images (0.26-0.71 s per image and worker on generated images,
    docs/evaluation.md), and announces the matcher's one-time
    compilation."""
    args = [(p, g, max_dist, nms, THRESHOLDS, seed, backend)
            for p, g in pairs]
    if progress:
        if backend == 'fast':
            from .boundary_fast import needs_compiling
            if needs_compiling():
                print_log('compiling the boundary matcher with numba (once '
                          'per machine, about 11 s on 2 cores; cached in '
                          f'{os.environ["NUMBA_CACHE_DIR"]})',
                          logger='current')
        print_log(f'boundary matching (odsF/oisF/AP) of {len(args)} images '
                  f'at {len(THRESHOLDS)} thresholds, '
                  f'{num_workers or "no"} worker processes',
                  logger='current')
    bar = ProgressBar(len(args), file=sys.stdout) if progress else None
    done = bar.update if bar is not None else (lambda: None)
    if num_workers > 0:
        if backend == 'fast':  # compile here once: the workers inherit it
            line = np.zeros((16, 16), np.uint8)
            line[:, 8] = 200
            image_counts(line, line > 0, max_dist, nms, [0.5], seed, backend)
        counts = _in_processes(image_counts, args, num_workers, done)
    else:
        counts = []
        for a in args:
            counts.append(image_counts(*a))
            done()
    if bar is not None:
        print()
    return summarize(counts)
