# Copyright (c) sak_mm contributors. All rights reserved.
"""A Visualizer that draws an image with its ground truth and predictions,
every panel titled and every task's colours explained."""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.visualization import Visualizer

from sak_mm.registry import VISUALIZERS
from sak_mm.structures import DENSE_FIELDS, MultiTaskDataSample, get_field
from sak_mm.structures.field_kinds import ClassKey, ImageKey, ScaleKey
from .plots import heat_map, off_screen_figure, router_labels

#: metainfo keys holding a label task's class names (else
#: ``<task>_classes``)
_CLASS_NAME_KEYS = {'semseg': 'classes', 'human_parts': 'human_part_classes'}
#: most classes a legend lists (the ones with most pixels)
_MAX_LEGEND = 12


@dataclass(frozen=True)
class RoutingPanel:
    """Routing weights drawn under a figure's column: a ``rows x cols`` heat
    map of values in ``[0, 1]``, the values printed in the cells."""
    values: np.ndarray
    rows: Sequence[str]
    cols: Sequence[str]
    title: str


def routing_panels(summary: dict) -> Dict[str, RoutingPanel]:
    """Panels by column of a routing summary: a MoR model's gate scores
    (:class:`~sak_mm.engine.hooks.RouterWeightsRecorder`; per task, experts
    x levels) or a routed-expert decoder's expert shares
    (:class:`~sak_mm.engine.hooks.ExpertUsageRecorder`; per task's MoE, and
    the global MoE under the image)."""
    if 'routers' in summary:
        return {
            'image' if name == 'global' else name: RoutingPanel(
                np.asarray([stats['selected']]), ['share'],
                [f'e{e}' for e in range(len(stats['selected']))],
                f'{name} MoE: share of tokens')
            for name, stats in summary['routers'].items()
        }
    experts, levels = router_labels(summary)
    return {
        task: RoutingPanel(np.asarray(stats['mean']), experts, levels,
                           f'{task}: MoR gates')
        for task, stats in summary['tasks'].items()
    }


def class_names(meta: Optional[dict], task: str) -> Optional[Sequence[str]]:
    """A label task's class names from a dataset's metainfo, if it has
    them."""
    meta = meta or {}
    return meta.get(_CLASS_NAME_KEYS.get(task, f'{task}_classes'))


def task_order(present: Sequence[str],
               meta: Optional[dict] = None) -> list:
    """The tasks of ``present`` in a fixed order: the dataset's (the
    config's ``tasks``) where the metainfo has one, then the order the
    fields were registered in."""
    order = list((meta or {}).get('tasks') or ()) + [
        f for f in DENSE_FIELDS if f not in (meta or {}).get('tasks', ())]
    unknown = [t for t in present if t not in order]
    return [t for t in order if t in present] + sorted(unknown)


def sample_figure(image: np.ndarray,
                  data_sample: Optional[MultiTaskDataSample],
                  draw_gt: bool = True,
                  draw_pred: bool = True,
                  meta: Optional[dict] = None,
                  routing: Optional[Dict[str, RoutingPanel]] = None):
    """One sample as a matplotlib Figure: the image, then one column per
    task (in :func:`task_order`) with its ground truth above its
    prediction, each panel titled ``<task>: ground truth`` /
    ``<task>: prediction``, and under each column the key to its colours
    (class names, a colour bar with units, the normal directions) and, if
    given, its :class:`RoutingPanel` (by task name, ``'image'`` for the
    first column).

    Each task's maps are rendered by its field
    (:meth:`~sak_mm.structures.DenseField.render`), ground truth and
    prediction on one scale.
    """
    sources = []
    if data_sample is not None:
        if draw_gt and 'gt' in data_sample:
            sources.append(('ground truth', data_sample.gt))
        if draw_pred and 'pred' in data_sample:
            sources.append(('prediction', data_sample.pred))
    tasks = task_order({t for _, s in sources for t in s.keys()}, meta)
    rows, cols = max(len(sources), 1), 1 + len(tasks)
    h, w = image.shape[:2]
    cell = 2.4  # inches per panel width
    routing = routing or {}
    extra = [0.9] + ([1.4] if routing else [])  # keys, routing
    fig = off_screen_figure(
        figsize=(cell * cols, (cell * h / w + 0.35) * rows + sum(extra) + 0.2))
    grid = fig.add_gridspec(rows + len(extra), cols,
                            height_ratios=[cell * h / w] * rows + extra)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(image)
    ax.set_title('image', fontsize=8)
    ax.set_axis_off()
    gt = data_sample.gt if data_sample is not None and 'gt' in data_sample \
        else None
    for c, task in enumerate(tasks, start=1):
        field = get_field(task)
        reference = gt.get(task) if gt is not None and task in gt else None
        maps = []
        for r, (what, source) in enumerate(sources):
            ax = fig.add_subplot(grid[r, c])
            ax.set_axis_off()
            ax.set_title(f'{task}: {what}', fontsize=8)
            if task not in source:
                continue
            maps.append(source.get(task))
            ax.imshow(field.render(maps[-1], gt=reference),
                      interpolation='nearest', extent=(0, w, h, 0))
        key_ax = fig.add_subplot(grid[rows, c])
        key_ax.set_axis_off()
        _draw_key(fig, key_ax, field.key(maps, gt=reference),
                  class_names(meta, task))
    for c, column in enumerate(['image'] + tasks):
        if column in routing:
            _draw_routing(fig.add_subplot(grid[rows + 1, c]),
                          routing[column])
    width, height = fig.get_size_inches()  # margins in inches: titles,
    fig.subplots_adjust(  # the routing panels' tick labels
        left=(0.5 if routing else 0.05) / width, right=1 - 0.05 / width,
        top=1 - 0.3 / height, bottom=(0.35 if routing else 0.05) / height,
        wspace=0.3 if routing else 0.05, hspace=0.3)
    return fig


def _draw_key(fig, ax, key, names: Optional[Sequence[str]]) -> None:
    """Draw a field kind's colour key into ``ax`` (an empty panel)."""
    if isinstance(key, ClassKey):
        from matplotlib.patches import Patch
        shown = key.indices[:_MAX_LEGEND]
        handles = [
            Patch(color=key.colours[i] / 255,
                  label=names[k] if names is not None and k < len(names)
                  else f'class {k}') for i, k in enumerate(shown)
        ]
        title = 'classes' + (f' ({len(shown)} of {len(key.indices)}, '
                             'most pixels)'
                             if len(key.indices) > len(shown) else '') + \
            ', black: unannotated'
        ax.legend(handles=handles, loc='upper center', fontsize=6,
                  ncol=2, frameon=False, title=title, title_fontsize=6)
    elif isinstance(key, ScaleKey):
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        bar = ax.inset_axes([0.05, 0.7, 0.9, 0.18])
        fig.colorbar(ScalarMappable(Normalize(key.vmin, key.vmax), key.cmap),
                     cax=bar, orientation='horizontal')
        bar.tick_params(labelsize=6)
        bar.set_xlabel(key.label, fontsize=6)
    elif isinstance(key, ImageKey):
        inset = ax.inset_axes([0.3, 0.3, 0.4, 0.7])
        inset.imshow(key.image)
        inset.set_axis_off()
        ax.text(0.5, 0.1, key.label, ha='center', va='center', fontsize=6,
                transform=ax.transAxes)


def _draw_routing(ax, panel: RoutingPanel) -> None:
    heat_map(ax, panel.values, panel.rows, panel.cols, panel.title,
             fontsize=6, aspect='auto')


def figure_to_rgb(fig, dpi: int = 100) -> np.ndarray:
    """Render a Figure off-screen to an ``(H, W, 3)`` uint8 array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


@VISUALIZERS.register_module()
class MultiTaskVisualizer(Visualizer):
    """Renders one sample as a titled grid (:func:`sample_figure`): the
    image, then one column per task with the ground truth above the
    prediction and the key to the colours below (class names from the
    dataset's metainfo, which mmengine's loops give the visualizer as
    ``dataset_meta``; depth in metres; the normal directions; boundary or
    foreground probability). Columns follow the config's task order (the
    metainfo's ``tasks``).
    """

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[MultiTaskDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       routing: Optional[Dict[str, RoutingPanel]] = None
                       ) -> np.ndarray:
        """Draw and (optionally) save/show/log the grid; returns it.
        ``routing``: panels of routing weights under the columns
        (:func:`routing_panels`)."""
        image = np.asarray(image, dtype=np.uint8)
        fig = sample_figure(image, data_sample, draw_gt, draw_pred,
                            self.dataset_meta, routing)
        drawn = figure_to_rgb(fig)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import cv2
            cv2.imwrite(out_file, drawn[..., ::-1])
        else:
            self.add_image(name, drawn, step)
        return drawn
