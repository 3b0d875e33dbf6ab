# Copyright (c) sak_mm contributors. All rights reserved.
"""What every multi-task model shares: the mode dispatch and prediction."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModel

from sak_mm.models.decode_heads import samples_for
from sak_mm.structures import MultiTaskDataSample

SampleList = List[MultiTaskDataSample]
#: ``{sample field: {task: (B, ...) tensor}}``, e.g. the MoR gate scores
Extras = Dict[str, Dict[str, torch.Tensor]]


class BaseMultiTaskModel(BaseModel):
    """Images in; every task's logits, losses or per-sample predictions out.

    .. code:: text

        forward(inputs, data_samples, mode)
          'loss'    -> loss(inputs, data_samples)   {'decode.<task>.loss_*',
                                                     ...}
          'predict' -> predict(inputs, data_samples=None)  samples with .pred
          'tensor'  -> _forward(inputs)             {task: logits}

    A subclass builds its decoder as ``self.heads`` (a
    :class:`~sak_mm.models.decode_heads.BaseMultiTaskDecoder`, or None for
    a model with no task), sets ``self.tasks`` and implements :meth:`loss`
    and :meth:`encode_decode`. :meth:`predict` works with or without data
    samples: without them each image is its own unpadded sample (a
    notebook's ``model.predict(images)``).

    Args:
        data_preprocessor (dict, optional): Defaults to
            :class:`MultiTaskDataPreprocessor`.
        crop_size (tuple, optional): The training crop ``(H, W)``, said
            once: the data preprocessor's ``pad_size`` unless it sets one
            (a subclass passes it on to the parts built for an input size,
            :func:`~sak_mm.models.utils.with_crop`).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 data_preprocessor: Optional[dict] = None,
                 crop_size: Optional[Sequence[int]] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or
                                 dict(type='MultiTaskDataPreprocessor'))
        if crop_size is not None:
            data_preprocessor.setdefault('pad_size', tuple(crop_size))
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    @staticmethod
    def select_tasks(heads: Dict[str, dict],
                     tasks: Optional[Sequence[str]]) -> Dict[str, dict]:
        """The heads of ``tasks`` (all without), in ``tasks``' order: a
        single-task model is its multi-task config with ``tasks=[t]``."""
        if tasks is None:
            return heads
        unknown = [t for t in tasks if t not in heads]
        if unknown:
            raise KeyError(f'tasks {unknown} have no head; the heads are '
                           f'{list(heads)}')
        return {t: heads[t] for t in tasks}

    @classmethod
    def decoder_for(cls, decoder: dict,
                    tasks: Optional[Sequence[str]]) -> dict:
        """A multi-task decoder's config with the heads of ``tasks`` only
        (:meth:`select_tasks`)."""
        if tasks is None:
            return decoder
        return dict(decoder, heads=cls.select_tasks(decoder['heads'], tasks))

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           f'predict and tensor mode')

    def loss(self, inputs: torch.Tensor,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def encode_decode(self, inputs: torch.Tensor
                      ) -> Tuple[Dict[str, torch.Tensor], Extras]:
        """Each task's logits at the decoder's resolution, and any
        per-sample fields to attach to the predictions."""
        raise NotImplementedError

    def decode_loss(self, feats, data_samples: SampleList,
                    task_feats=None) -> Dict[str, torch.Tensor]:
        """The decoder's losses, named ``decode.<task>.<loss>``."""
        losses = self.heads.loss(feats, data_samples, task_feats)
        return {f'decode.{name}': value for name, value in losses.items()}

    def _forward(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.encode_decode(inputs)[0]

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """Per-sample predictions in each image's original geometry (each
        task's activation applied), in ``sample.pred``."""
        if not self.tasks:
            raise RuntimeError(f'this {type(self).__name__} has no decoder '
                               f'(e.g. stage 1): it has nothing to predict')
        logits, extras = self.encode_decode(inputs)
        data_samples = self.heads.predict_by_feat(
            logits, samples_for(inputs, data_samples))
        for field, per_task in extras.items():
            for i, sample in enumerate(data_samples):
                sample.set_field({t: v[i] for t, v in per_task.items()},
                                 field)
        return data_samples
