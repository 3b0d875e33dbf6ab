# Copyright (c) sak_mm contributors. All rights reserved.
"""The boundary benchmark on hand-made cases with known matches, with
each backend (the reference one where pyEdgeEval is installed)."""
import importlib.util
import os
import signal
import time

import numpy as np
import pytest
import torch

from sak_mm.evaluation import boundary
from sak_mm.evaluation.boundary import (evaluate_images, image_counts,
                                        seg2bmap, summarize)
from sak_mm.registry import METRICS

HAVE_REFERENCE = importlib.util.find_spec('pyEdgeEval') is not None


@pytest.fixture(params=['fast', pytest.param(
    'exact-reference', marks=pytest.mark.skipif(
        not HAVE_REFERENCE, reason='pyEdgeEval is not installed'))])
def backend(request):
    return request.param


def line(col, value, size=(100, 100), rows=slice(None)):
    pred = np.zeros(size, np.uint8)
    pred[rows, col] = int(value * 255)
    return pred


def test_seg2bmap_marks_label_transitions():
    seg = np.array([[1, 1, 2],
                    [1, 1, 2],
                    [3, 3, 3]])
    expected = np.array([[0, 1, 0],
                         [1, 1, 1],
                         [0, 0, 0]], bool)
    np.testing.assert_array_equal(seg2bmap(seg), expected)


def test_shift_inside_and_outside_max_dist(backend):
    gt = np.zeros((200, 200), bool)
    gt[:, 100] = True
    # 0.0075 * diagonal (283 px) = 2.1 px of tolerance
    near = summarize([image_counts(line(101, 0.8, (200, 200)), gt, 0.0075,
                                   nms=None, backend=backend)])
    far = summarize([image_counts(line(104, 0.8, (200, 200)), gt, 0.0075,
                                  nms=None, backend=backend)])
    assert near['odsF'] == pytest.approx(1.0, abs=0.01)  # one end pixel
    assert far['odsF'] == pytest.approx(0.0)


def test_hand_computed_ods_and_ois(backend):
    gt = np.zeros((100, 100), bool)
    gt[:, 50] = True
    pred = line(50, 0.8, rows=slice(0, 50))  # half of the boundary, strong
    pred[0:50, 80] = int(0.3 * 255)  # a weak false boundary, same length
    scores = summarize([image_counts(pred, gt, 0.011, nms=None,
                                     backend=backend)])
    # t <= 0.29: P = 50/100, R = 50/100, F = 0.5
    # 0.30 <= t <= 0.80: P = 1, R = 0.5, F = 2/3; above: nothing detected
    assert scores['odsF'] == pytest.approx(2 / 3)
    assert scores['odsP'] == pytest.approx(1.0)
    assert scores['odsR'] == pytest.approx(0.5)
    assert 0.29 < scores['odsT'] <= 0.80
    assert scores['oisF'] == pytest.approx(2 / 3)


def test_double_edges_are_suppressed_by_the_sak_nms(backend):
    gt = np.zeros((100, 100), bool)
    gt[:, 50] = True
    pred = np.zeros((100, 100), np.uint8)
    pred[:, 49] = pred[:, 51] = 200  # a double response around the edge
    plain, invpt, sak = (summarize([image_counts(
        pred, gt, 0.011, nms=nms, backend=backend)])
                         for nms in (None, 'invpt', 'sak'))
    # without smoothing both responses survive and one is unmatched:
    # P = 1/2, R = 1, F = 2/3
    assert plain['odsF'] == pytest.approx(2 / 3)
    assert invpt['odsP'] < 0.55
    # SAK's preset smooths (radius 1) first, so NMS leaves a single line
    assert sak['odsP'] == pytest.approx(1.0) and sak['odsF'] > 0.95


def test_results_are_deterministic_and_independent_of_workers(backend):
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(3):
        gt = np.zeros((60, 80), bool)
        gt[rng.integers(5, 55), :] = True
        gt[:, rng.integers(5, 75)] = True
        pred = (rng.random((60, 80)) * 80).astype(np.uint8)
        pred[gt] = 220
        pairs.append((pred, gt))
    serial = evaluate_images(pairs, 0.011, num_workers=0, backend=backend)
    again = evaluate_images(pairs, 0.011, num_workers=0, backend=backend)
    parallel = evaluate_images(pairs, 0.011, num_workers=2, backend=backend)
    assert serial == again == parallel


def counts_or_die(pred, *args):
    """image_counts, except that the worker given an image whose first
    pixel is 1 is killed (as by the out-of-memory killer)."""
    if pred[0, 0] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return image_counts(pred, *args)


def test_a_dead_matching_worker_is_an_error_not_a_hang(monkeypatch):
    """A multiprocessing.Pool replaced the killed worker and waited forever
    for its lost image (training blocked at 0 % CPU)."""
    pairs = [(line(50, 0.8), line(50, 1) > 0) for _ in range(4)]
    pairs[2][0][0, 0] = 1
    monkeypatch.setattr(boundary, 'image_counts', counts_or_die)
    start = time.time()
    with pytest.raises(RuntimeError, match='a worker process of the boundary '
                       'matching died.*4 images.*2 processes.*num_workers'):
        evaluate_images(pairs, 0.011, num_workers=2)
    assert time.time() - start < 30


def test_boundary_metric_reads_predictions_and_label_maps(tmp_path, backend):
    import scipy.io as sio
    label = np.zeros((100, 100), np.uint16)
    label[:, 50:] = 7
    path = tmp_path / 'lm.mat'
    sio.savemat(path, {'LabelMap': label})
    metric = METRICS.build(dict(type='BoundaryMetric', max_dist=0.011,
                                nms=None, backend=backend))
    prob = torch.zeros(1, 100, 100)
    prob[0, :, 49] = 0.9  # seg2bmap marks the last pixel before the change
    metric.process({}, [
        dict(pred=dict(edge=prob), boundary_gt_file=str(path)),
        dict(pred=dict(edge=prob), gt=dict(edge=(prob > 0.5).float())),
    ])
    res = metric.evaluate(2)
    assert res['edge/odsF'] == pytest.approx(100.0)
    assert set(res) == {'edge/odsF', 'edge/oisF', 'edge/AP'}
