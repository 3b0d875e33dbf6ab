# Copyright (c) sak_mm contributors. All rights reserved.
"""A teacher-free multi-task model: a backbone and a multi-task decoder."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log

from sak_mm.models.utils import with_crop
from sak_mm.models.utils.weights import (fit_grid_embedding,
                                         load_strict_weights)
from sak_mm.registry import MODELS
from .base import BaseMultiTaskModel, SampleList


@MODELS.register_module()
class MultiTaskEncoderDecoder(BaseMultiTaskModel):
    """Backbone levels -> a :class:`BaseMultiTaskDecoder` -> every task.

    .. code:: text

        inputs --backbone--> levels (tuple of (B, C_i, h_i, w_i))
               --decoder--> {task: logits} -> decode.<task>.loss_* (+ aux)
                                           -> per-sample predictions

    The model of FGMoE, of SAK's multi-task and single-task baselines (a
    plain ViT, :class:`TASBackbone`, with :class:`TaskHeads`) and of the
    frozen-teacher probes (:class:`FrozenTeacherBackbone`), on any
    registered backbone whose forward returns levels
    (``type='mmpretrain.SwinTransformer'``, ``'mmpretrain.HRNet'``...).

    Decoder-only fine-tuning (``freeze_backbone=True``): the backbone's
    parameters do not require gradients (so the optimizer keeps no state for
    them and DDP does not synchronise them), it runs in eval mode (norm
    statistics frozen) under ``torch.no_grad``, whatever ``train()`` is
    called with.

    Args:
        backbone (dict): Backbone config; its forward returns the levels.
        decoder (dict): Multi-task decoder config; ``in_channels`` is
            filled in from the backbone's ``out_channels`` when the
            backbone says it (:class:`TASBackbone`,
            :class:`FrozenTeacherBackbone`).
        pretrained (str | dict, optional): The backbone's weights, loaded
            strictly (:func:`~sak_mm.models.utils.weights.load_strict_weights`)
            by :meth:`init_weights`: a path, or ``dict(checkpoint=PATH,
            prefix='backbone.', allow_missing=(...))``. The prefix selects
            the backbone inside a classifier or segmentor checkpoint
            (mmpretrain ImageNet, mmseg UperNet); a file without it is read
            as the backbone's own state dict.
        freeze_backbone (bool): Train the decoder only.
        save_backbone (bool): False leaves the (frozen) backbone out of the
            model's state dict, so decoder-only checkpoints hold the decoder
            alone; the backbone is then loaded from ``pretrained`` when the
            model is built, and a checkpoint without it loads.
        crop_size (tuple, optional): The training crop ``(H, W)``: the
            data preprocessor's ``pad_size`` and the backbone's input size
            where it is built for one and not given one
            (:func:`~sak_mm.models.utils.with_crop`).
        tasks (Sequence[str], optional): Decode only these of the
            decoder's ``heads`` (e.g. one, for a single-task baseline).
        data_preprocessor (dict, optional): Defaults to
            :class:`MultiTaskDataPreprocessor`.
    """

    def __init__(self,
                 backbone: dict,
                 decoder: dict,
                 pretrained: Optional[Union[str, dict]] = None,
                 freeze_backbone: bool = False,
                 save_backbone: bool = True,
                 crop_size: Optional[Sequence[int]] = None,
                 tasks: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor, crop_size, init_cfg)
        if crop_size is not None:
            backbone = with_crop(backbone, crop_size)
        decoder = self.decoder_for(decoder, tasks)
        self.backbone = MODELS.build(backbone)
        if 'in_channels' not in decoder:
            width = getattr(self.backbone, 'out_channels', None)
            if width is None:
                raise ValueError(
                    f'decoder.in_channels is needed: the backbone '
                    f'{backbone["type"]} does not say its levels\' widths')
            decoder = dict(decoder, in_channels=width)
        self.heads = MODELS.build(decoder)
        self.tasks = list(self.heads.tasks)
        if isinstance(pretrained, str):
            pretrained = dict(checkpoint=pretrained)
        self.pretrained = pretrained
        self.freeze_backbone = freeze_backbone
        if not save_backbone:
            if not freeze_backbone:
                raise ValueError('save_backbone=False needs freeze_backbone='
                                 'True: a trained backbone must be saved')
            if pretrained is None:
                raise ValueError('save_backbone=False needs pretrained: the '
                                 'backbone is then loaded from it, not from '
                                 'checkpoints')
            self.register_state_dict_post_hook(_drop_backbone)
            self.register_load_state_dict_post_hook(_backbone_not_missing)
            self.load_backbone()
        if freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    # -- weights and modes ---------------------------------------------------
    def load_backbone(self) -> None:
        """Load ``pretrained`` into the backbone, strictly."""
        cfg = dict(self.pretrained)
        prefix = cfg.pop('prefix', 'backbone.')
        path = cfg.pop('checkpoint')
        load_strict_weights(self.backbone, path, prefixes=(prefix, ''),
                            convert=self._fit_position_grid, **cfg)
        print_log(f'backbone weights loaded from {path}', logger='current')

    def _fit_position_grid(self, state: dict) -> dict:
        """A ViT checkpoint's position embedding resampled to this
        backbone's patch grid (mmpretrain ``VisionTransformer``: it was
        trained at another resolution, e.g. 384 px)."""
        own = getattr(self.backbone, 'pos_embed', None)
        if own is None or 'pos_embed' not in state:
            return state
        prefix = getattr(self.backbone, 'num_extra_tokens', 1)
        return dict(state, pos_embed=fit_grid_embedding(
            state['pos_embed'], own, prefix, self.backbone.patch_resolution))

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained is not None:
            self.load_backbone()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    # -- forward -------------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_backbone):
            return list(self.backbone(inputs))

    def loss(self, inputs: torch.Tensor,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        return self.decode_loss(self.extract_feat(inputs), data_samples)

    def encode_decode(self, inputs: torch.Tensor):
        return self.heads(self.extract_feat(inputs)), {}


def _drop_backbone(module, state_dict, prefix, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + 'backbone.')]:
        del state_dict[key]


def _backbone_not_missing(module, incompatible_keys) -> None:
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not k.startswith('backbone.')]
