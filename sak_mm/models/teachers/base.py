# Copyright (c) sak_mm contributors. All rights reserved.
"""The frozen-teacher contract shared by every foundation-model family."""
import contextlib
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from sak_mm.models.data_preprocessor import IMAGENET_MEAN, IMAGENET_STD
from sak_mm.models.utils import evenly_spaced_levels


class TeacherWrapper(nn.Module):
    """A frozen vision foundation model that yields multi-level feature maps.

    A teacher owns everything between the student's normalised input batch
    and its features: re-normalisation to the statistics it was trained
    with, its input geometry (e.g. SAM's 1024 canvas), ``eval()`` mode,
    ``requires_grad=False`` and ``inference_mode``. Its weights never enter
    a student checkpoint: models hold teachers in
    :class:`~sak_mm.models.teachers.FrozenTeachers`.

    .. code:: text

        student-normalised x --renormalise--> family preprocess (resize/pad)
        --> frozen network --> 4 levels (B, C_t, h_t, w_t), prefix tokens
        dropped, no final norm --> family postprocess (e.g. SAM valid crop)

    Args:
        mean, std: The statistics the teacher was trained with (0-255 scale).
        renormalize (bool): If True (default) the input is converted from the
            student's normalisation to the teacher's. False feeds the
            student-normalised image unchanged (SAK reference behaviour).
        input_mean, input_std: The student's (data preprocessor's) statistics.
        autocast_weights (bool): When the teacher is called under autocast
            (AMP training), convert its frozen weights to the autocast dtype
            once, instead of letting autocast cast them at every call (it
            caches casts only of weights that require grad): half the
            teacher memory and no cast kernels. One-way: once converted, a
            call without autocast (e.g. a validation hook) runs under
            autocast in that dtype, as training did. A model that never
            runs under autocast keeps fp32 weights (the reference math).
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 renormalize: bool = True,
                 input_mean: Sequence[float] = IMAGENET_MEAN,
                 input_std: Sequence[float] = IMAGENET_STD,
                 autocast_weights: bool = True):
        super().__init__()
        self.autocast_weights = autocast_weights
        self._compiled = False
        mean_t, std_t = torch.tensor(mean), torch.tensor(std)
        mean_in, std_in = torch.tensor(input_mean), torch.tensor(input_std)
        # x_t = (x * std_in + mean_in - mean_t) / std_t = x * gain + bias
        self.renormalize = renormalize and not (
            torch.equal(mean_t, mean_in) and torch.equal(std_t, std_in))
        self.register_buffer('gain', (std_in / std_t).view(1, -1, 1, 1), False)
        self.register_buffer('bias', ((mean_in - mean_t) / std_t).view(
            1, -1, 1, 1), False)

    # -- family hooks --------------------------------------------------------
    @property
    def embed_dims(self) -> int:
        """Channel width ``C_t`` of the teacher's feature maps."""
        raise NotImplementedError

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Family-specific input geometry (after re-normalisation)."""
        return x

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run the network; return the 4 levels as ``(B, C_t, h, w)``."""
        raise NotImplementedError

    def postprocess(self, feats: List[torch.Tensor],
                    input_shape) -> List[torch.Tensor]:
        """Family-specific output handling (e.g. cropping a padded canvas)."""
        return feats

    # -- tiny stand-ins (smoke tests, docs/adding_a_teacher.md) --------------
    @classmethod
    def tiny_test_cfg(cls) -> dict:
        """Arguments that shrink this family's model to a few narrow blocks
        (random weights): what the config smoke tests build instead of the
        real network."""
        raise NotImplementedError(f'{cls.__name__} declares no tiny test '
                                  f'model')

    def save_release_file(self, path: str) -> None:
        """Write this teacher's weights laid out as its family's released
        file (what ``checkpoint`` reads), so tests run the real loading
        path on a tiny model."""
        raise NotImplementedError(f'{type(self).__name__} declares no '
                                  f'release file layout')

    # -- shared behaviour ----------------------------------------------------
    def freeze(self) -> None:
        """Freeze all parameters and switch to eval mode for good."""
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> 'TeacherWrapper':
        """Teachers stay in eval mode whatever the student does."""
        return super().train(False)

    def follow(self, x: torch.Tensor) -> None:
        """Move to ``x``'s device if the teacher is elsewhere."""
        if self.gain.device != x.device:
            self.to(x.device)

    def _autocast_dtype_for(self, x: torch.Tensor) -> Optional[torch.dtype]:
        """Keep the weights in the autocast dtype (see ``autocast_weights``);
        return the dtype a call without autocast must run in, if any."""
        weight = next(self.parameters(), None)
        if not self.autocast_weights or weight is None:
            return None
        device = x.device.type
        if torch.is_autocast_enabled(device):
            dtype = torch.get_autocast_dtype(device)
            if weight.dtype != dtype:
                # parameters only: buffers (normalisation constants) keep
                # their precision
                for param in self.parameters():
                    param.data = param.data.to(dtype)
                self._converted_to = dtype
            return None
        # converted weights cannot give fp32 results any more: a later call
        # without autocast (e.g. a validation hook) runs as training did
        return getattr(self, '_converted_to', None)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Student-normalised images -> 4 feature maps (no autograd
        history; ordinary tensors, so losses may save them for backward).
        The teacher first moves to ``x``'s device if it is elsewhere (it
        lives outside the student's module tree, see
        :class:`~sak_mm.models.teachers.FrozenTeachers`).
        """
        self.follow(x)
        dtype = self._autocast_dtype_for(x)
        input_shape = tuple(x.shape[-2:])
        # dynamo's guards fail on inference-mode tensors (torch 2.14), so a
        # compiled teacher runs under no_grad
        context = torch.no_grad if self._compiled else torch.inference_mode
        autocast = torch.autocast(x.device.type, dtype=dtype) if dtype \
            else contextlib.nullcontext()
        with context(), autocast:
            if self.renormalize:
                x = x * self.gain.to(x.dtype) + self.bias.to(x.dtype)
            feats = self.postprocess(
                self.extract(self.preprocess(x)), input_shape)
        if self._compiled:
            return feats
        # inference tensors cannot be saved for backward: hand out copies
        return [f.clone() for f in feats]

    def compile(self, **kwargs) -> None:
        """``torch.compile`` the network (:meth:`extract`) with
        ``kwargs``; the wrapper's own steps stay eager."""
        self.extract = torch.compile(self.extract, **kwargs)
        self._compiled = True


def crop_to_patch_multiple(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Drop the right/bottom pixels that do not fill a whole patch (what a
    strided patch embedding does implicitly)."""
    h, w = x.shape[-2:]
    return x[..., :h // patch * patch, :w // patch * patch]


def default_levels(indices: Optional[Sequence[int]], depth: int) -> List[int]:
    """The given block indices, or the 4 evenly spaced ones of ``depth``."""
    return list(indices) if indices is not None else evenly_spaced_levels(depth)
