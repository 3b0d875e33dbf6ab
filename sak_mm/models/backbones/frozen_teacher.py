# Copyright (c) sak_mm contributors. All rights reserved.
"""A frozen teacher as the backbone of a probing model (paper Fig. 1)."""
from typing import List

import torch
import torch.nn as nn

from sak_mm.models.teachers import FrozenTeachers, TeacherWrapper
from sak_mm.models.utils import with_crop
from sak_mm.registry import MODELS


@MODELS.register_module()
class FrozenTeacherBackbone(nn.Module):
    """A frozen foundation model's 4 levels, as a backbone's output.

    The frozen-teacher probing of Section 2 / Table 2 ("oracle"), as a
    :class:`MultiTaskEncoderDecoder`: the teacher (with its own
    preprocessing, e.g. SAM at 1024) stays frozen and only the decoder
    trains. Like the distiller's teachers, it is held in
    :class:`~sak_mm.models.teachers.FrozenTeachers`, outside the module
    tree: never saved into checkpoints, never optimised.

    Args:
        teacher (dict): A teacher config (``DINOv2Teacher``, ``CLIPTeacher``,
            ``SAMTeacher``...).
    """

    def __init__(self, teacher: dict):
        super().__init__()
        self.frozen = FrozenTeachers(dict(teacher=teacher))

    @classmethod
    def with_crop(cls, cfg: dict, crop_size) -> dict:
        """The teacher is built for the training crop if its family is
        (:func:`with_crop`)."""
        return dict(cfg, teacher=with_crop(cfg['teacher'], crop_size))

    @property
    def teacher(self) -> TeacherWrapper:
        return self.frozen['teacher']

    @property
    def out_channels(self) -> int:
        """Every level's width (a decoder's ``in_channels``)."""
        return self.teacher.embed_dims

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return self.teacher(x)
