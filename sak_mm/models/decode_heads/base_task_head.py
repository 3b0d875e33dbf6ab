# Copyright (c) sak_mm contributors. All rights reserved.
"""The contract every per-task dense head follows."""
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.models.utils import losses_with_early_grad
from sak_mm.registry import MODELS
from sak_mm.structures import DenseField, get_field


def _argmax(x: torch.Tensor) -> torch.Tensor:
    return x.argmax(dim=1, keepdim=True)


def _non_negative(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(min=0)


def _unit_vectors(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, p=2, dim=1)


def _foreground_probability(x: torch.Tensor) -> torch.Tensor:
    return x.softmax(dim=1)[:, 1:2]


#: how raw outputs become predictions, per dense-field kind
PREDICTION_ACTIVATIONS = {
    'label': _argmax,
    'saliency': _foreground_probability,
    'depth': _non_negative,
    'normal': _unit_vectors,
    'boundary': torch.sigmoid,
}


class BaseTaskHead(nn.Module):
    """One task's decoder: multi-level features in, a dense map out.

    .. code:: text

        forward(feats)                 -> logits (B, C_out, h, w)
        loss_by_feat(logits, gt, hw)   -> {'loss_*': tensor}  (at input size)
        predict_by_feat(logits, metas) -> per-sample activated predictions,
                                          padding cropped off

    Args:
        task (str): Task name; also its dense-field name (decides the
            activation at prediction time and the valid-pixel mask).
        out_channels (int): Output channels (classes, 1 for depth...).
        loss (dict): Config of the task loss (carries the task weight).
        align_corners (bool): For the final resize to the input size.
    """

    def __init__(self, task: str, out_channels: int, loss: dict,
                 align_corners: bool = False):
        super().__init__()
        self.task = task
        self.field: DenseField = get_field(task)
        self.out_channels = out_channels
        self.loss_fn = MODELS.build(loss)
        self.align_corners = align_corners

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def _resize(self, logits: torch.Tensor, size) -> torch.Tensor:
        return F.interpolate(
            logits, size=tuple(size), mode='bilinear',
            align_corners=self.align_corners)

    def loss_by_feat(self, logits: torch.Tensor, gt: torch.Tensor,
                     input_shape) -> Dict[str, torch.Tensor]:
        """Loss against the batch's ``(B, C, H, W)`` ground truth, computed
        on the logits resized to the input size; the gradient is formed
        right away, so backward keeps one logits-sized map, not the
        full-size fp32 intermediates of the loss."""
        valid = self.field.valid_mask(gt)

        def term(x):
            return (self.loss_fn(self._resize(x, input_shape), gt, valid), )

        (loss, ) = losses_with_early_grad(term, logits)
        return {self.loss_fn.loss_name: loss}

    def predict_by_feat(self, logits: torch.Tensor,
                        batch_img_metas: List[dict]) -> List[torch.Tensor]:
        """Per-sample predictions ``(C', H, W)`` in original image geometry.

        Logits are resized to the padded batch shape, the padding recorded
        by the data preprocessor (``pad_offset``, ``img_shape``) is cropped
        off, the crop is resized to ``ori_shape`` if the pipeline rescaled
        the image, and the task's activation is applied last.
        """
        logits = self._resize(logits, batch_img_metas[0]['batch_input_shape'])
        activate = PREDICTION_ACTIVATIONS[self.field.kind]
        preds = []
        for i, meta in enumerate(batch_img_metas):
            top, left = meta.get('pad_offset', (0, 0))
            h, w = meta['img_shape']
            x = logits[i:i + 1, :, top:top + h, left:left + w]
            if tuple(meta['ori_shape']) != (h, w):
                x = self._resize(x, meta['ori_shape'])
            preds.append(activate(x)[0])
        return preds
