# Copyright (c) sak_mm contributors. All rights reserved.
"""The visualizer's figures: titled panels, the config's task order, a key
to every task's colours; read back from the figure's layout."""
import numpy as np
import torch
from mmengine.structures import PixelData

from sak_mm.structures import MultiTaskDataSample, get_field
from sak_mm.visualization import MultiTaskVisualizer
from sak_mm.visualization.multi_task_visualizer import (sample_figure,
                                                        task_order)
from tests.conftest import figure_layout

CHANNELS = dict(semseg=5, depth=1, normals=3, edge=1)


def synthetic_sample(tasks, with_pred=True, seed=0) -> MultiTaskDataSample:
    g = torch.Generator().manual_seed(seed)
    maps = {t: get_field(t).synthesize(CHANNELS[t], (12, 16), g)
            for t in tasks}
    sample = MultiTaskDataSample()
    sample.gt = PixelData(**maps)
    if with_pred:
        sample.pred = PixelData(**{t: m.float() for t, m in maps.items()})
    return sample


def test_figure_titles_every_panel_in_the_configs_task_order_with_keys():
    meta = dict(tasks=('edge', 'semseg', 'depth', 'normals'),
                classes=('wall', 'floor', 'ceiling', 'table', 'bed'))
    # the sample's maps in another order than the config's
    sample = synthetic_sample(['normals', 'semseg', 'depth', 'edge'])
    fig = sample_figure(np.zeros((12, 16, 3), np.uint8), sample, meta=meta)
    layout = figure_layout(fig)
    assert layout['titles'] == ['image'] + [
        f'{t}: {row}' for t in meta['tasks']
        for row in ('ground truth', 'prediction')]
    texts = layout['texts']
    assert 'classes, black: unannotated' in texts
    drawn = set(sample.gt.semseg.unique().tolist())
    assert {meta['classes'][k] for k in drawn} <= set(texts)
    assert 'depth (m), grey: no measurement' in texts
    assert 'boundary probability, dark red: unannotated' in texts
    assert 'normal: x right, y up; black: unannotated' in texts


def test_figure_of_labels_only_and_names_without_metainfo():
    sample = synthetic_sample(['depth', 'semseg'], with_pred=False)
    layout = figure_layout(
        sample_figure(np.zeros((12, 16, 3), np.uint8), sample))
    # registration order without a dataset's tasks; one row
    assert layout['titles'] == ['image', 'semseg: ground truth',
                                'depth: ground truth']
    assert any(t.startswith('class ') for t in layout['texts'])
    assert task_order({'sal', 'semseg'}) == ['semseg', 'sal']
    # a depth key with no map or nothing measured falls back to 0-1 m
    for maps in ([], [np.zeros((1, 2, 2))]):
        assert get_field('depth').key(maps).vmax == 1.0


def test_class_legend_lists_the_classes_with_most_pixels():
    # class k covers k + 1 pixels (210 in all), the rest unannotated
    flat = torch.cat([torch.full((k + 1, ), k) for k in range(20)] +
                     [torch.full((30, ), 255)])
    label = flat.view(1, 6, 40)
    key = get_field('semseg').kind.key([label.numpy()])
    assert key.indices[:3] == (19, 18, 17)  # most pixels first
    assert len(key.indices) == 20  # the unannotated pixels are no class
    sample = MultiTaskDataSample()
    sample.gt = PixelData(semseg=label)
    texts = figure_layout(sample_figure(np.zeros((6, 40, 3), np.uint8),
                                        sample))['texts']
    assert 'classes (12 of 20, most pixels), black: unannotated' in texts


def test_visualizer_writes_the_drawn_figure(tmp_path):
    visualizer = MultiTaskVisualizer(name='test_writes_figure')
    visualizer.dataset_meta = dict(tasks=('semseg', 'depth'))
    out = str(tmp_path / 'a.png')
    drawn = visualizer.add_datasample(
        'a', np.zeros((12, 16, 3), np.uint8),
        synthetic_sample(['semseg', 'depth']), out_file=out)
    from PIL import Image
    assert np.array_equal(np.asarray(Image.open(out)), drawn)
    assert drawn.dtype == np.uint8 and drawn.shape[2] == 3
