# Copyright (c) sak_mm contributors. All rights reserved.
"""The contract every per-task dense head follows."""
from typing import Dict, List, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.models.losses import UpsampledLoss
from sak_mm.models.utils.checkpoint import check_with_cp, checkpointed
from sak_mm.structures import DenseField, get_field


def batch_input_shape(data_samples) -> tuple:
    """The padded batch shape the data preprocessor recorded."""
    shape = data_samples[0].metainfo.get('batch_input_shape')
    if shape is None:
        raise KeyError('the data samples carry no batch_input_shape: batch '
                       'them with MultiTaskDataPreprocessor')
    return tuple(shape)


class BaseTaskHead(nn.Module):
    """One task's head: features in, a dense map out; it owns the task's
    loss and activation (the per-task part of a
    :class:`~sak_mm.models.decode_heads.BaseMultiTaskDecoder`).

    .. code:: text

        forward(feats)                 -> logits (B, C_out, h, w)
        loss(feats, data_samples)      -> {'loss_*': tensor}, against the
                                          batch's labels (at their size)
        loss_by_samples(logits, data_samples), loss_by_feat(logits, gt)
                                       -> the same from logits
        predict_by_feat(logits, metas) -> per-sample activated predictions,
                                          padding cropped off

    Args:
        task (str): Task name; also its dense-field name (decides the
            activation at prediction time and the valid-pixel mask).
        out_channels (int): Output channels (classes, 1 for depth...).
        loss (dict): Config of the task loss (carries the task weight); it
            compares the logits upsampled to the labels' size
            (:class:`~sak_mm.models.losses.UpsampledLoss`).
        align_corners (bool): For the resizes to the input size.
        with_cp (bool | str): ``'selective'`` runs the head and its loss
            as selective activation checkpointing regions while training
            (:mod:`sak_mm.models.utils.checkpoint`): they keep their
            convolution, GEMM and batch-norm outputs and recompute the
            rest, the full-size loss maps included, in backward. The same
            values; False keeps everything. (True, whole-region
            recomputation, would update batch-norm statistics twice.)
    """

    def __init__(self, task: str, out_channels: int, loss: dict,
                 align_corners: bool = False,
                 with_cp: Union[bool, str] = False):
        super().__init__()
        self.task = task
        self.field: DenseField = get_field(task)
        self.out_channels = out_channels
        self.loss_fn = UpsampledLoss(loss, align_corners)
        self.align_corners = align_corners
        self.with_cp = check_with_cp(
            with_cp, (False, 'selective'),
            ' (True would update batch-norm statistics twice)')

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def _resize(self, logits: torch.Tensor, size) -> torch.Tensor:
        return F.interpolate(
            logits, size=tuple(size), mode='bilinear',
            align_corners=self.align_corners)

    def loss(self, feats: List[torch.Tensor],
             data_samples: list) -> Dict[str, torch.Tensor]:
        """The task loss of :meth:`forward`'s logits against the labels of
        ``data_samples`` (padded to the batch shape; a sample without this
        task's label counts nowhere)."""
        return self.loss_by_samples(self._checkpointed(self, feats),
                                    data_samples)

    def _checkpointed(self, fn, first, *args):
        """``fn(first, *args)``, as a checkpointing region while training
        with ``with_cp`` (``first``: a tensor or a list of them)."""
        tensors = first if isinstance(first, (list, tuple)) else [first]
        if self.with_cp and self.training and any(
                t.requires_grad for t in tensors):
            return checkpointed(fn, first, *args, with_cp=self.with_cp)
        return fn(first, *args)

    def loss_by_samples(self, logits: torch.Tensor,
                        data_samples: list) -> Dict[str, torch.Tensor]:
        """The loss of ``logits`` against this task's labels in
        ``data_samples``, stacked to the batch shape."""
        gt = self.field.stack(data_samples, batch_input_shape(data_samples),
                              logits.device)
        return self.loss_by_feat(logits, gt)

    def loss_by_feat(self, logits: torch.Tensor,
                     gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The loss against a ``(B, C, H, W)`` batch of labels."""
        return {
            self.loss_fn.loss_name:
            self._checkpointed(self.loss_fn, logits, gt,
                               self.field.valid_mask(gt))
        }

    def predict_by_feat(self, logits: torch.Tensor,
                        batch_img_metas: List[dict]) -> List[torch.Tensor]:
        """Per-sample predictions ``(C', H, W)`` in original image geometry.

        Logits are resized to the padded batch shape, the padding recorded
        by the data preprocessor (``pad_offset``, ``img_shape``) is cropped
        off, the crop is resized to ``ori_shape`` if the pipeline rescaled
        the image, and the field's activation is applied last.
        """
        logits = self._resize(logits, batch_img_metas[0]['batch_input_shape'])
        preds = []
        for i, meta in enumerate(batch_img_metas):
            top, left = meta.get('pad_offset', (0, 0))
            h, w = meta['img_shape']
            x = logits[i:i + 1, :, top:top + h, left:left + w]
            if tuple(meta['ori_shape']) != (h, w):
                x = self._resize(x, meta['ori_shape'])
            preds.append(self.field.activate(x)[0])
        return preds
