# Copyright (c) sak_mm contributors. All rights reserved.
"""Recording of the MoR routers' gate scores over a dataset (paper Fig. 4)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dist import all_gather_object, is_main_process
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS


def router_layout(model) -> dict:
    """Experts, tasks and levels of a model's MoR neck, with a clear error
    for a model without routers."""
    if is_model_wrapper(model):
        model = model.module
    neck = getattr(model, 'neck', None)
    if neck is None or getattr(neck, 'mode', None) != 'mor':
        kind = 'no neck' if neck is None else f"a '{neck.mode}' neck"
        raise RuntimeError(
            f'{type(model).__name__} has {kind}: gate scores exist only for '
            f"models with MoR routers (neck=dict(type='MoRNeck', mode='mor'))")
    return dict(
        experts=list(neck.experts),
        tasks=list(neck.tasks),
        levels=[int(i) + 1 for i in model.backbone.out_indices])


class RouterWeightsRecorder:
    """Accumulates per-image gate scores and reduces them to statistics.

    Args:
        layout (dict): From :func:`router_layout`.
        per_image (bool): Keep every image's scores in the summary.
    """

    def __init__(self, layout: dict, per_image: bool = False):
        self.layout = layout
        self.per_image = per_image
        self.records: List[dict] = []

    def update(self, data_samples: Sequence) -> None:
        """Take the ``gate_scores`` of a batch of predicted samples."""
        for sample in data_samples:
            gates = sample.get('gate_scores')
            if gates is None:
                raise KeyError('a predicted sample has no gate_scores; is the '
                               'model a SAKDistiller with MoR routers?')
            self.records.append(
                dict(img=sample.get('img_path', str(len(self.records))),
                     gates={t: g.detach().float().cpu().numpy()
                            for t, g in gates.items()}))

    def gather(self) -> List[dict]:
        """All ranks' records, in rank order (every rank gets them all)."""
        parts = all_gather_object(self.records)
        return [r for part in parts for r in part]

    def summarize(self, records: Optional[List[dict]] = None) -> dict:
        """Mean and std over images, per task, as ``[expert][level]``."""
        records = self.gather() if records is None else records
        if not records:
            raise RuntimeError('no gate scores were recorded')
        summary = dict(self.layout, num_images=len(records), tasks={})
        for task in self.layout['tasks']:
            stack = np.stack([r['gates'][task] for r in records])  # N, L, E
            summary['tasks'][task] = dict(
                mean=stack.mean(0).T.round(6).tolist(),
                std=stack.std(0).T.round(6).tolist())
        if self.per_image:
            summary['per_image'] = {
                r['img']: {t: g.T.round(6).tolist()
                           for t, g in r['gates'].items()}
                for r in records
            }
        return summary


def data_source(runner, mode: str) -> str:
    """What a val/test epoch's statistics came from, for figure titles."""
    return f'{mode} split, iteration {runner.iter}' if mode == 'val' else \
        f'{mode} split'


def scalar_logs(summary: dict, prefix: str = 'router') -> Dict[str, float]:
    """Flatten a summary's means to ``router/<task>/l<level>/<expert>``."""
    out = {}
    for task, stats in summary['tasks'].items():
        for e, expert in enumerate(summary['experts']):
            for k, level in enumerate(summary['levels']):
                out[f'{prefix}/{task}/l{level}/{expert}'] = \
                    stats['mean'][e][k]
    return out


@HOOKS.register_module()
class RouterWeightsHook(Hook):
    """Record MoR gate scores during validation and testing.

    After each val/test epoch it writes ``<work_dir>/<mode>_router_weights
    .json`` (mean and std over the dataset per task, expert and level,
    optionally every image's scores) and logs the means as scalars to the
    visualizer's backends. Under DDP the scores are gathered from all ranks.

    Args:
        per_image (bool): Also store each image's scores in the JSON.
        log_scalars (bool): Send the means to the visualizer backends.
    """

    priority = 'LOW'

    def __init__(self, per_image: bool = False, log_scalars: bool = True):
        self.per_image = per_image
        self.log_scalars = log_scalars
        self.recorder: Optional[RouterWeightsRecorder] = None
        self.last_summary: Optional[dict] = None

    def _start(self, runner) -> None:
        self.recorder = RouterWeightsRecorder(
            router_layout(runner.model), self.per_image)

    def before_val_epoch(self, runner) -> None:
        self._start(runner)

    def before_test_epoch(self, runner) -> None:
        self._start(runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self.recorder.update(outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self.recorder.update(outputs)

    def _finish(self, runner, mode: str) -> None:
        summary = self.recorder.summarize()
        summary['source'] = data_source(runner, mode)
        self.last_summary = summary
        if is_main_process():
            dump(summary, osp.join(runner.work_dir,
                                   f'{mode}_router_weights.json'), indent=1)
            if self.log_scalars:
                step = runner.iter if mode == 'val' else 0
                runner.visualizer.add_scalars(scalar_logs(summary), step=step)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'test')
