# Copyright (c) sak_mm contributors. All rights reserved.
"""The model that wires teachers, student, heads and losses (SAK)."""
import copy
from typing import Dict, Optional, Sequence, Union

import torch

from sak_mm.models.decode_heads import TaskHeads
from sak_mm.models.segmentors import BaseMultiTaskModel
from sak_mm.models.segmentors.base import SampleList
from sak_mm.models.teachers import FrozenTeachers
from sak_mm.models.utils import with_crop
from sak_mm.registry import MODELS


@MODELS.register_module()
class SAKDistiller(BaseMultiTaskModel):
    """Multi-teacher, multi-task distillation model (paper Fig. 2, eq. (6)).

    .. code:: text

        inputs --TSAPBackbone--> tas [4], tsap {teacher: [4]}
          distillation: backbone.align(tsap) vs teacher(inputs)
              -> distill.<teacher>.l<k>.loss (logged: .cos, .sl1)
          tasks (if heads): MoRNeck(tas, tsap) (or tas without a neck)
              -> head[task] -> decode.<task>.loss_*

    Stage 1 is ``heads=None, neck=None`` (distillation only); stage 2 adds
    neck and heads. (The multi-task baseline, a plain ViT with heads, is a
    :class:`MultiTaskEncoderDecoder`.)

    Teachers are frozen and kept outside the module tree
    (:class:`~sak_mm.models.teachers.FrozenTeachers`): never saved in
    checkpoints, never given to the optimizer or DDP.

    Args:
        backbone (dict): :class:`TSAPBackbone` config; ``teachers`` and
            ``aligner_dims`` are filled in from ``teachers``.
        teachers (dict): ``{name: teacher config}`` in expert order (at
            least one).
        neck (dict, optional): :class:`MoRNeck` config; ``tasks``,
            ``teachers`` and ``in_channels`` are filled in.
        heads (dict, optional): ``{task: head config}``, one independent
            head per task (:class:`TaskHeads`); ``task`` and ``in_channels``
            are filled in.
        decoder (dict, optional): Instead of ``heads``, any multi-task
            decoder (:class:`BaseMultiTaskDecoder`, e.g. ``FGMoEDecoder``):
            it decodes the TAS levels as the shared features and each task's
            MoR mixture as that task's features; ``in_channels`` is filled
            in. Either way the decoder is the ``heads`` attribute.
        distill_loss (dict, optional): :class:`DistillLoss` config.
        aligners (str | bool): ``'auto'`` builds aligners only for teachers
            whose width differs from the student's; True for all; False for
            none (widths must then match).
        build_teachers (bool): False builds the student alone: the teacher
            configs then only name the adapter paths / experts, no teacher
            network is built or loaded, no aligner is made and there is no
            distillation loss. For testing and inference (``tools/test.py``
            sets it).
        compile (dict, optional): ``torch.compile`` parts of the model:
            ``teachers`` (each teacher network), ``student`` (backbone,
            neck and heads, training and testing) and ``predict`` (the
            whole inference path from images to logits and gates, behind
            :meth:`predict` and the ``'tensor'`` mode;
            ``dict(mode='reduce-overhead')`` captures it in CUDA graphs). Each value is False, True (default options) or
            the keyword arguments of ``torch.compile``, e.g.
            ``compile=dict(teachers=True, predict=dict(mode='max-autotune'))``.
            Parameters and checkpoint keys are unchanged.
        crop_size (tuple, optional): The training crop ``(H, W)``: the
            data preprocessor's ``pad_size``, the stem's and each teacher's
            input size where the part is built for one and not given one
            (:func:`~sak_mm.models.utils.with_crop`; SAM keeps its canvas).
        tasks (Sequence[str], optional): Decode only these of ``heads`` (or
            the decoder's heads).
        data_preprocessor (dict, optional): Defaults to
            :class:`MultiTaskDataPreprocessor`.
    """

    COMPILE_TARGETS = ('teachers', 'student', 'predict')

    def __init__(self,
                 backbone: dict,
                 teachers: Dict[str, dict],
                 neck: Optional[dict] = None,
                 heads: Optional[Dict[str, dict]] = None,
                 decoder: Optional[dict] = None,
                 distill_loss: Optional[dict] = None,
                 aligners: Union[str, bool] = 'auto',
                 build_teachers: bool = True,
                 compile: Optional[dict] = None,
                 crop_size: Optional[Sequence[int]] = None,
                 tasks: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor, crop_size, init_cfg)
        if not teachers:
            raise ValueError(
                'SAKDistiller needs teachers; a model without them (the '
                'multi-task baseline) is a MultiTaskEncoderDecoder with '
                'backbone=dict(type="TASBackbone", ...)')
        teacher_names = list(teachers)
        if crop_size is not None:
            backbone = with_crop(backbone, crop_size)
            teachers = {n: with_crop(t, crop_size)
                        for n, t in teachers.items()}
        self.teacher_models = FrozenTeachers(
            teachers if build_teachers else {})

        backbone = copy.deepcopy(backbone)
        if backbone.setdefault('teachers', teacher_names) != teacher_names:
            raise ValueError(
                f'backbone.teachers {backbone["teachers"]} must equal the '
                f'teachers {teacher_names} (same names, same order)')
        if self.teacher_models:
            backbone['aligner_dims'] = self._aligner_dims(
                aligners, self._stem_dims(backbone))
        self.backbone = MODELS.build(backbone)

        if self.teacher_models and distill_loss is None:
            distill_loss = dict(type='DistillLoss')
        self.distill_loss = MODELS.build(distill_loss) \
            if self.teacher_models else None

        decoder = self._build_decoder(heads, decoder, tasks)
        self.tasks = [] if decoder is None else list(decoder.tasks)
        self.neck = None
        if neck is not None:
            if not self.tasks:
                raise ValueError('a neck needs a decoder: MoR routers exist '
                                 'per task')
            neck = dict(
                neck,
                tasks=self.tasks,
                teachers=teacher_names,
                in_channels=self.backbone.embed_dims,
                num_levels=len(self.backbone.out_indices))
            self.neck = MODELS.build(neck)
        # registered after the neck: the parameter order (and so the
        # optimizer state of older checkpoints) is unchanged
        self.heads = decoder
        self._compiled_predict = None
        self._compile(compile or {})

    # -- construction helpers ------------------------------------------------
    def _build_decoder(self, heads, decoder, tasks):
        if heads and decoder:
            raise ValueError('give heads (one per task) or a decoder, not '
                             'both')
        width = self.backbone.embed_dims
        if heads:
            return TaskHeads(self.select_tasks(heads, tasks),
                             in_channels=width)
        if decoder:
            return MODELS.build(
                dict(self.decoder_for(decoder, tasks), in_channels=width))
        return None

    @staticmethod
    def _stem_dims(backbone: dict) -> int:
        arch = backbone['stem'].get('arch', 'base')
        if isinstance(arch, dict):
            return arch['embed_dims']
        from mmpretrain.models.backbones.vision_transformer import \
            VisionTransformer
        return VisionTransformer.arch_zoo[arch.lower()]['embed_dims']

    def _aligner_dims(self, aligners, stem_dims: int) -> Optional[dict]:
        dims = {n: t.embed_dims for n, t in self.teacher_models.items()}
        if aligners == 'auto':
            picked = {n: d for n, d in dims.items() if d != stem_dims}
        elif aligners is True:
            picked = dims
        elif aligners is False:
            wrong = {n: d for n, d in dims.items() if d != stem_dims}
            if wrong:
                raise ValueError(
                    f'aligners=False but teacher widths {wrong} differ from '
                    f'the student width {stem_dims}; use aligners="auto"')
            picked = {}
        else:
            raise ValueError(f"aligners must be 'auto', True or False, got "
                             f'{aligners!r}')
        return picked or None

    def _compile(self, cfg: dict) -> None:
        unknown = set(cfg) - set(self.COMPILE_TARGETS)
        if unknown:
            raise KeyError(f'compile: unknown targets {sorted(unknown)}; '
                           f'choose from {list(self.COMPILE_TARGETS)}')
        options = {}  # target -> torch.compile kwargs, for targets to compile
        for target, value in cfg.items():
            if not isinstance(value, (bool, dict)):
                raise TypeError(f'compile.{target} must be a bool or a dict '
                                f'of torch.compile arguments, got {value!r}')
            if value is not False:
                options[target] = {} if value is True else value
        if 'teachers' in options:
            for teacher in self.teacher_models.values():
                teacher.compile(**options['teachers'])
        if 'student' in options:
            heads = [] if self.heads is None else \
                self.heads.compile_targets()
            for module in (self.backbone, self.neck, *heads):
                if module is not None:
                    module.compile(**options['student'])
        if 'predict' in options:
            self._compiled_predict = torch.compile(self._logits_and_gates,
                                                   **options['predict'])

    # -- forward -------------------------------------------------------------
    def _task_features(self, feats: dict):
        """Each task's MoR mixture and the gates (None, None without a
        neck: every task decodes the TAS levels)."""
        if self.neck is None:
            return None, None
        return self.neck(feats['tas'], feats['tsap'])

    def loss(self, inputs: torch.Tensor,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        feats = self.backbone(inputs)
        losses = {}
        if self.teacher_models:
            losses.update(self._distill_losses(inputs, feats['tsap']))
        if self.tasks:
            task_feats, _ = self._task_features(feats)
            losses.update(
                self.decode_loss(feats['tas'], data_samples, task_feats))
        return losses

    def _distill_losses(self, inputs, tsap) -> Dict[str, torch.Tensor]:
        aligned = self.backbone.align(tsap)
        losses = {}
        for name, teacher in self.teacher_models.items():
            targets = teacher(inputs)
            for level, (s, t) in enumerate(zip(aligned[name], targets), 1):
                for key, value in self.distill_loss(s, t).items():
                    losses[f'distill.{name}.l{level}.{key}'] = value
        return losses

    def _logits_and_gates(self, inputs: torch.Tensor):
        """The inference path (compiled with ``compile.predict``): each
        task's logits and the MoR gates (None without MoR)."""
        feats = self.backbone(inputs)
        task_feats, gates = self._task_features(feats)
        return self.heads(feats['tas'], task_feats), gates

    def encode_decode(self, inputs: torch.Tensor):
        """Each task's logits, and the MoR gate scores as the samples'
        ``gate_scores`` (none without MoR)."""
        if self._compiled_predict is None:
            logits, gates = self._logits_and_gates(inputs)
        else:
            # copies: a CUDA-graph replay reuses its output memory
            logits, gates = self._compiled_predict(inputs)
            logits = {t: v.clone() for t, v in logits.items()}
            if gates is not None:
                gates = {t: g.clone() for t, g in gates.items()}
        return logits, {} if gates is None else dict(gate_scores=gates)
