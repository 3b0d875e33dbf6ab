# Copyright (c) sak_mm contributors. All rights reserved.
"""The fast boundary backend against its references: glibc's erand48, the
matcher's kOfN rules, scikit-image's thinning, pyEdgeEval's NMS and BSDS
match counts (per threshold, on generated NYUD-like and PASCAL-like
predictions), and the outlier graph's effect beyond a maximum matching."""
import ctypes
import importlib.util
from unittest import mock

import numpy as np
import pytest

from sak_mm.evaluation import boundary
from sak_mm.evaluation import boundary_fast as fast
from sak_mm.utils.synthetic import BOUNDARY_DATASETS, synthetic_boundary_pair

needs_reference = pytest.mark.skipif(
    importlib.util.find_spec('pyEdgeEval') is None,
    reason='pyEdgeEval (the exact-reference backend) is not installed')

#: generated images, at a third of the datasets' sides (the tolerance is a
#: fraction of the diagonal, so it shrinks with them)
SMALL = {'nyud': (142, 187), 'pascal': (125, 167)}


def generated(dataset, seeds):
    return [synthetic_boundary_pair(dataset, s, SMALL[dataset])
            for s in seeds]


def test_erand48_is_glibcs():
    libc = ctypes.CDLL(None)
    libc.erand48.restype = ctypes.c_double
    libc.erand48.argtypes = [ctypes.POINTER(ctypes.c_ushort)]
    for seed in (1, 12345, (1 << 48) - 1):
        xsubi = (ctypes.c_ushort * 3)(seed & 0xffff, (seed >> 16) & 0xffff,
                                      (seed >> 32) & 0xffff)
        state = np.array([seed], np.uint64)
        theirs = [libc.erand48(xsubi) for _ in range(500)]
        ours = [fast.erand48(state) for _ in range(500)]
        assert ours == theirs


@pytest.mark.parametrize('k,n', [(6, 5000), (6, 40), (6, 31), (3, 7),
                                 (1, 9), (6, 6), (1, 1)])
def test_k_of_n_draws_sorted_distinct_values(k, n):
    """Both of kOfN's regimes (halving below k log2 k < n // 2, one pass
    above) give k sorted distinct values of [0, n), and the same ones for
    the same state."""
    out = np.empty(6, np.int64)
    stack = np.empty((64, 4), np.int64)
    state = np.array([7], np.uint64)
    seen = set()
    for _ in range(200):
        before = state.copy()
        fast.k_of_n(k, n, out, state, stack)
        values = out[:k].tolist()
        assert values == sorted(set(values)) and 0 <= values[0]
        assert values[-1] < n
        again = out.copy()
        fast.k_of_n(k, n, again, before, stack)
        assert again[:k].tolist() == values and before[0] == state[0]
        seen.add(tuple(values))
    assert len(seen) > 1 or k == n


def test_thinning_equals_scikit_image():
    from skimage.morphology import thin as skimage_thin
    rng = np.random.default_rng(0)
    maps = [rng.random((60, 80)) < p for p in (0.05, 0.3, 0.6, 0.9)]
    maps.append(np.ones((30, 40), bool))
    pred, _ = synthetic_boundary_pair('nyud', 3, SMALL['nyud'])
    edges = boundary.edge_nms(pred / 255.0, 'sak')
    maps += [edges >= t for t in (0.01, 0.1, 0.3)]
    for bmap in maps:
        np.testing.assert_array_equal(fast.thin(bmap), skimage_thin(bmap))


@needs_reference
@pytest.mark.parametrize('preset', ['sak', 'invpt'])
def test_nms_equals_the_reference(preset):
    for dataset in ('nyud', 'pascal'):
        for pred, _ in generated(dataset, (0, 1)):
            prob = pred / 255.0
            np.testing.assert_array_equal(
                boundary.edge_nms(prob, preset, 'fast'),
                boundary.edge_nms(prob, preset, 'exact-reference'))


@needs_reference
@pytest.mark.parametrize('dataset', ['nyud', 'pascal'])
def test_counts_and_scores_equal_the_reference(dataset):
    """Every threshold's counts, hence ODS / OIS / AP, of generated images
    equal the BSDS matcher's."""
    max_dist = BOUNDARY_DATASETS[dataset]['max_dist']
    pairs = generated(dataset, range(4))
    ours = [boundary.image_counts(p, g, max_dist) for p, g in pairs]
    theirs = [boundary.image_counts(p, g, max_dist,
                                    backend='exact-reference')
              for p, g in pairs]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert boundary.summarize(ours) == boundary.summarize(theirs)


def real_matching_size(bmap, gt, max_dist):
    """The maximum number of disjoint predicted / ground-truth pairs within
    ``max_dist`` (scipy, independently of the fast backend)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching
    h, w = gt.shape
    radius = max_dist * np.hypot(h, w)
    py, px = np.nonzero(bmap)
    gy, gx = np.nonzero(gt)
    d2 = (py[:, None] - gy[None])**2 + (px[:, None] - gx[None])**2
    graph = csr_matrix((d2 <= radius * radius).astype(np.int8))
    return int((maximum_bipartite_matching(graph, 'column') >= 0).sum())


@needs_reference
def test_the_sparse_outlier_graph_costs_matches_as_the_reference_does():
    """Near #pred == #GT an outlier copy without outlier-outlier edges
    leaves a pixel unmatched: the matcher then pairs fewer pixels than a
    maximum matching would, and the fast backend pairs exactly as few."""
    max_dist = BOUNDARY_DATASETS['pascal']['max_dist']
    short = 0
    for pred, gt in generated('pascal', range(4)):
        edges = boundary.edge_nms(pred / 255.0, 'sak')
        ours = boundary.image_counts(pred, gt, max_dist)
        theirs = boundary.image_counts(pred, gt, max_dist,
                                       backend='exact-reference')
        for t, row, ref in zip(boundary.THRESHOLDS, ours, theirs):
            bmap = boundary.thin(edges >= t)
            if not bmap.any():
                continue
            best = real_matching_size(bmap, gt, max_dist)
            assert row[2] == ref[2] <= best
            short += row[2] < best
    assert short > 0


def logged(call_list) -> str:
    return '\n'.join(call.args[0] for call in call_list)


def test_warm_starts_and_workers_change_nothing(capsys):
    """A threshold scored alone (no matching carried over from the previous
    one) gives the same counts; worker processes give the same scores,
    each run showing its progress."""
    max_dist = BOUNDARY_DATASETS['nyud']['max_dist']
    pairs = generated('nyud', (5, 6))
    pred, gt = pairs[0]
    counts = boundary.image_counts(pred, gt, max_dist)
    for i in range(0, 99, 7):
        alone = boundary.image_counts(pred, gt, max_dist,
                                      thresholds=[boundary.THRESHOLDS[i]])
        np.testing.assert_array_equal(alone[0], counts[i])
    capsys.readouterr()
    with mock.patch.object(boundary, 'print_log') as log:
        assert boundary.evaluate_images(pairs, max_dist) == \
            boundary.evaluate_images(pairs, max_dist, num_workers=2)
    for workers in ('no', '2'):
        assert f'boundary matching (odsF/oisF/AP) of 2 images at 99 ' \
            f'thresholds, {workers} worker processes' in logged(
                log.call_args_list)
    # a progress bar per run, completed
    assert capsys.readouterr().out.count('2/2') == 2


def test_first_compile_is_announced_and_cached_outside_the_package(
        tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    # nothing compiled in this process, nothing in the cache: announced
    monkeypatch.setenv('NUMBA_CACHE_DIR', str(tmp_path))
    with mock.patch.object(type(fast.match_count), 'signatures', []), \
            mock.patch.object(boundary, 'print_log') as log:
        assert fast.needs_compiling()
        pair = [(np.zeros((8, 8), np.uint8), np.zeros((8, 8), bool))]
        boundary.evaluate_images(pair, 0.011)
    assert 'compiling the boundary matcher with numba (once per machine' \
        f', about 11 s on 2 cores; cached in {tmp_path})' in logged(
            log.call_args_list)
    (tmp_path / 'x' / 'boundary_fast.match_count-310.py311.nbi').parent \
        .mkdir()
    (tmp_path / 'x' / 'boundary_fast.match_count-310.py311.nbi').touch()
    with mock.patch.object(type(fast.match_count), 'signatures', []):
        assert not fast.needs_compiling()

    # a fresh process puts numba's cache in the user's cache folder
    env = dict(os.environ, SAK_MM_CACHE=str(tmp_path / 'user'))
    env.pop('NUMBA_CACHE_DIR')
    subprocess.run([
        sys.executable, '-c', 'import numpy as np\n'
        'from sak_mm.evaluation.boundary_fast import erand48\n'
        'erand48(np.ones(1, np.uint64))'
    ], env=env, check=True)
    cached = list((tmp_path / 'user' / 'numba').rglob('boundary_fast.'
                                                      'erand48-*.nbi'))
    assert len(cached) == 1


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match='unknown boundary backend'):
        boundary.image_counts(np.zeros((8, 8), np.uint8),
                              np.zeros((8, 8), bool), 0.011, backend='csa')
