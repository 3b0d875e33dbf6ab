# Copyright (c) sak_mm contributors. All rights reserved.
"""How closely each TSAP reproduces its teacher (paper Table 3, Rep Sim)."""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather_object, is_main_process
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sak_mm.models.losses import match_resolution
from sak_mm.registry import HOOKS


class RepSimilarityMeter:
    """Cosine similarity between each teacher's maps and the student's
    (aligned) TSAP maps, per teacher and level.

    For every image and level the two maps are brought to one resolution
    (the lower one resized, as in distillation) and compared as flattened
    vectors: the similarity is ``1 - L_cos`` of the distillation loss. The
    summary averages over images; ``overall`` averages over teachers and
    levels.
    """

    def __init__(self):
        self.records: List[Dict[str, np.ndarray]] = []

    @staticmethod
    def _unwrap(model):
        model = model.module if is_model_wrapper(model) else model
        if not getattr(model, 'teacher_models', None):
            raise RuntimeError(
                'representation similarity needs the teachers: build the '
                'model with its teachers (build_teachers=True) and their '
                'weights')
        return model

    @torch.no_grad()
    def update(self, model, inputs: torch.Tensor) -> None:
        """Measure one preprocessed batch."""
        model = self._unwrap(model)
        aligned = model.backbone.align(model.backbone(inputs)['tsap'])
        per_image = {}
        for name, teacher in model.teacher_models.items():
            sims = []
            for s, t in zip(aligned[name], teacher(inputs)):
                s, t = match_resolution(s.float(), t.float())
                sims.append(F.cosine_similarity(
                    s.flatten(1), t.flatten(1), dim=1))
            per_image[name] = torch.stack(sims, 1).cpu().numpy()  # B, L
        for i in range(inputs.shape[0]):
            self.records.append({n: v[i] for n, v in per_image.items()})

    def summarize(self) -> dict:
        records = [r for part in all_gather_object(self.records)
                   for r in part]
        if not records:
            raise RuntimeError('no image was measured')
        teachers = {}
        for name in records[0]:
            levels = np.stack([r[name] for r in records]).mean(0)
            teachers[name] = dict(levels=levels.round(6).tolist(),
                                  mean=float(levels.mean()))
        overall = float(np.mean([t['mean'] for t in teachers.values()]))
        return dict(num_images=len(records), teachers=teachers,
                    overall=overall)


@HOOKS.register_module()
class RepSimilarityHook(Hook):
    """Measure TSAP-teacher similarity on the val/test set.

    Writes ``<work_dir>/<mode>_rep_similarity.json`` and logs
    ``rep_sim/<teacher>`` and ``rep_sim/overall`` to the visualizer. The
    model must have its teachers (they run once more per batch).
    """

    priority = 'LOW'

    def __init__(self, log_scalars: bool = True):
        self.log_scalars = log_scalars
        self.meter: Optional[RepSimilarityMeter] = None
        self.last_summary: Optional[dict] = None

    def before_val_epoch(self, runner) -> None:
        self.meter = RepSimilarityMeter()

    before_test_epoch = before_val_epoch

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        model = runner.model
        inner = model.module if is_model_wrapper(model) else model
        data = inner.data_preprocessor(data_batch, False)
        self.meter.update(model, data['inputs'])

    after_test_iter = after_val_iter

    def _finish(self, runner, mode: str) -> None:
        summary = self.meter.summarize()
        self.last_summary = summary
        if is_main_process():
            dump(summary, osp.join(runner.work_dir,
                                   f'{mode}_rep_similarity.json'), indent=1)
            if self.log_scalars:
                scalars = {f'rep_sim/{t}': v['mean']
                           for t, v in summary['teachers'].items()}
                scalars['rep_sim/overall'] = summary['overall']
                runner.visualizer.add_scalars(
                    scalars, step=runner.iter if mode == 'val' else 0)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'test')
