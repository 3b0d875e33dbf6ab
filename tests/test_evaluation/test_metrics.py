# Copyright (c) sak_mm contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from sak_mm.registry import METRICS
from sak_mm.evaluation import mtl_gain


def run(metric, pairs):
    metric.process({}, [dict(pred={metric.task: p}, gt={metric.task: g})
                        for p, g in pairs])
    return metric.evaluate(len(pairs))


def test_miou_accumulates_over_the_dataset():
    m = METRICS.build(dict(type='SemSegMetric', num_classes=3))
    gt1 = torch.tensor([[[0, 0, 1, 255]]])
    pr1 = torch.tensor([[[0, 1, 1, 2]]])
    gt2 = torch.tensor([[[2, 2, 0, 1]]])
    pr2 = torch.tensor([[[2, 0, 0, 1]]])
    # class 0: tp 2 (1 + 1), fp 1, fn 1 -> 2/4; class 1: tp 2, fp 1, fn 0
    # -> 2/3; class 2: tp 1, fp 0, fn 1 -> 1/2 (pixel 255 ignored)
    res = run(m, [(pr1, gt1), (pr2, gt2)])
    assert res['semseg/mIoU'] == pytest.approx(100 * (0.5 + 2 / 3 + 0.5) / 3)


def reference_miou(pairs, num_classes):
    """MTI-Net's / ATRC's ``eval_semseg``, as written there: per-class
    TP / FP / FN summed over images, ``tp / max(tp + fp + fn, 1e-8)``
    averaged over every class."""
    tp, fp, fn = (np.zeros(num_classes) for _ in range(3))
    for pred, gt in pairs:
        pred, gt = pred.flatten().numpy(), gt.flatten().numpy()
        valid = gt != 255
        for c in range(num_classes):
            tp[c] += np.sum((gt == c) & (pred == c) & valid)
            fp[c] += np.sum((gt != c) & (pred == c) & valid)
            fn[c] += np.sum((gt == c) & (pred != c) & valid)
    jac = [tp[c] / max(tp[c] + fp[c] + fn[c], 1e-8)
           for c in range(num_classes)]
    return 100 * float(np.mean(jac))


def test_miou_counts_absent_classes_as_zero_unless_told_to_skip():
    # 2 of 40 classes occur, both perfect
    pair = [(torch.tensor([[[0, 1]]]), torch.tensor([[[0, 1]]]))]
    standard = METRICS.build(dict(type='SemSegMetric', num_classes=40))
    assert run(standard, pair)['semseg/mIoU'] == pytest.approx(100 * 2 / 40)
    mmseg = METRICS.build(dict(type='SemSegMetric', num_classes=40,
                               absent='skip'))
    assert run(mmseg, pair)['semseg/mIoU'] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="absent='nan'"):
        METRICS.build(dict(type='SemSegMetric', num_classes=40,
                           absent='nan'))
    # the reference's formula on random maps where 19 of 40 classes never
    # occur (and some pixels are ignored)
    g = torch.Generator().manual_seed(0)
    pairs = []
    for _ in range(3):
        gt = torch.randint(0, 21, (1, 12, 16), generator=g)
        gt[0, 0] = 255
        pred = torch.where(torch.rand(1, 12, 16, generator=g) < 0.7, gt,
                           torch.randint(0, 21, (1, 12, 16), generator=g))
        pairs.append((pred.clamp(max=20), gt))
    m = METRICS.build(dict(type='SemSegMetric', num_classes=40))
    assert run(m, pairs)['semseg/mIoU'] == pytest.approx(
        reference_miou(pairs, 40))


def test_depth_rmse_is_dataset_level_and_masks_invalid():
    m = METRICS.build(dict(type='DepthMetric'))
    pairs = [(torch.tensor([[[1.0, 2.0, 7.0]]]),
              torch.tensor([[[2.0, 0.0, 90.0]]])),  # only pixel 0 valid
             (torch.tensor([[[-1.0, 3.0]]]), torch.tensor([[[1.0, 1.0]]]))]
    res = run(m, pairs)
    # squared errors 1, (0 - 1)^2 = 1 (clamped at 0), 4 over 3 pixels
    assert res['depth/RMSE'] == pytest.approx(math.sqrt(6 / 3))


def test_normals_mean_angular_error_in_degrees():
    m = METRICS.build(dict(type='NormalsMetric'))
    # (C, H, W) = (3, 1, 3): predictions (1,0,0), (1,1,0), (0,0,9) against
    # (0,1,0) -> 90 degrees, (1,0,0) -> 45 degrees, (0,0,0) -> no label
    pred = torch.tensor([[[1.0, 1.0, 0.0]], [[0.0, 1.0, 0.0]],
                         [[0.0, 0.0, 9.0]]])
    gt = torch.tensor([[[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]],
                       [[0.0, 0.0, 0.0]]])
    res = run(m, [(pred, gt)])
    assert res['normals/mErr'] == pytest.approx((90 + 45) / 2, rel=1e-5)


def test_mtl_gain_signs_and_partial_reference():
    ref = {'semseg/mIoU': 50.0, 'depth/RMSE': 0.5, 'edge/odsF': 80.0}
    res = {'semseg/mIoU': 55.0, 'depth/RMSE': 0.45}
    # +10 % and +10 % (lower is better) over the two available metrics
    assert mtl_gain(res, ref, ['depth/RMSE']) == pytest.approx(10.0)
    with pytest.raises(KeyError):
        mtl_gain({'x': 1.0}, ref, [])


def test_multitask_metric_reports_each_task_and_delta_m():
    m = METRICS.build(dict(
        type='MultiTaskMetric',
        task_metrics=dict(semseg=dict(type='SemSegMetric', num_classes=2),
                          depth=dict(type='DepthMetric')),
        reference={'semseg/mIoU': 50.0, 'depth/RMSE': 1.0}))
    m.process({}, [
        dict(pred=dict(semseg=torch.tensor([[[0, 1]]]),
                       depth=torch.tensor([[[1.5]]])),
             gt=dict(semseg=torch.tensor([[[0, 1]]]),
                     depth=torch.tensor([[[1.0]]]))),
        dict(pred=dict(semseg=torch.tensor([[[1, 1]]])),
             gt=dict(semseg=torch.tensor([[[0, 1]]]))),  # no depth label
    ])
    res = m.evaluate(2)
    # class 0: tp 1, fn 1 -> 1/2; class 1: tp 2, fp 1 -> 2/3
    assert res['semseg/mIoU'] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    assert res['depth/RMSE'] == pytest.approx(0.5)
    expected = 100 * ((res['semseg/mIoU'] - 50) / 50 + 0.5) / 2
    assert res['mtl/delta_m'] == pytest.approx(expected)


def test_multitask_metric_scores_the_tasks_the_dataset_loads():
    """The dataset's ``metainfo['tasks']`` picks the metrics (a single-task
    dataset under the multi-task table) and the gain's entries; a loaded
    task without a metric is refused; each metric says its direction."""
    from sak_mm.evaluation import LOWER_IS_BETTER
    assert LOWER_IS_BETTER == ('depth/RMSE', 'normals/mErr')
    cfg = dict(
        type='MultiTaskMetric',
        task_metrics=dict(semseg=dict(type='SemSegMetric', num_classes=2),
                          depth=dict(type='DepthMetric')),
        reference={'semseg/mIoU': 50.0, 'depth/RMSE': 1.0})
    m = METRICS.build(cfg)
    assert m.lower_is_better == ('depth/RMSE', )
    m.dataset_meta = dict(tasks=('depth', ))
    m.process({}, [dict(pred=dict(depth=torch.tensor([[[1.5]]])),
                        gt=dict(depth=torch.tensor([[[2.0]]])))])
    res = m.evaluate(1)
    assert set(res) == {'depth/RMSE', 'mtl/delta_m'}
    # the depth entry alone: RMSE 0.5 against 1.0, lower is better
    assert res['mtl/delta_m'] == pytest.approx(50.0)
    with pytest.raises(KeyError, match=r"loads task\(s\) \['normals'\]"):
        METRICS.build(cfg).dataset_meta = dict(tasks=('depth', 'normals'))


def test_miou_rejects_labels_beyond_num_classes():
    m = METRICS.build(dict(type='SemSegMetric', num_classes=3))
    with pytest.raises(ValueError, match='num_classes=3'):
        run(m, [(torch.tensor([[[0, 1]]]), torch.tensor([[[0, 7]]]))])


def test_saliency_maxf_and_miou_by_hand():
    m = METRICS.build(dict(type='SaliencyMetric'))
    # probabilities 0.9, 0.6, 0.3, 0.1 against labels 1, 0, 1, 0 (+ ignore)
    pred = torch.tensor([[[0.9, 0.6, 0.3, 0.1, 0.99]]])
    gt = torch.tensor([[[1, 0, 1, 0, 255]]])
    res = run(m, [(pred, gt)])
    # t in (0.3, 0.6]: P = 1/2, R = 1/2 -> F = 0.5; t in (0.6, 0.9]: P = 1,
    # R = 1/2 -> F = 1.3 * 0.5 / (0.3 + 0.5) = 0.8125; t <= 0.3: P = 2/3,
    # R = 1 -> F = 1.3 * (2/3) / (0.2 + 1) = 0.7222
    assert res['sal/maxF'] == pytest.approx(81.25, abs=1e-3)
    # IoU: t <= 0.3 -> 2/3; (0.3, 0.6] -> 1/3; (0.6, 0.9] -> 1/2
    assert res['sal/mIoU'] == pytest.approx(100 * 2 / 3, abs=1e-3)


def test_saliency_thresholds_and_one_logit_activation():
    """MTLoRA's 15 thresholds 0.20 ... 0.90 replace the default grid; a
    one-channel saliency head is read through a sigmoid."""
    from sak_mm.structures import get_field
    m = METRICS.build(dict(type='SaliencyMetric',
                           thresholds=[0.2 + 0.05 * i for i in range(15)]))
    assert len(m.thresholds) == 15
    assert m.thresholds[-1].item() == pytest.approx(0.9)
    logits = torch.tensor([[[[0.0, 2.0]]]])
    prob = get_field('sal').activate(logits)
    torch.testing.assert_close(prob, torch.sigmoid(logits))
    two = torch.tensor([[[[0.0]], [[1.0]]]])
    torch.testing.assert_close(get_field('sal').activate(two),
                               torch.sigmoid(torch.tensor([[[[1.0]]]])))
