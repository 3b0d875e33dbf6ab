# Copyright (c) sak_mm contributors. All rights reserved.
"""A frozen teacher as the backbone of a probing model (paper Fig. 1)."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn

from sak_mm.models.teachers import FrozenTeachers, TeacherWrapper
from sak_mm.registry import MODELS


@MODELS.register_module()
class FrozenTeacherBackbone(nn.Module):
    """Feeds a frozen foundation model's 4 levels to the task heads.

    The frozen-teacher probing of Section 2 / Table 2 ("oracle"): the
    teacher (with its own preprocessing, e.g. SAM at 1024) stays frozen and
    only the heads train. Like the distiller's teachers, it is held in
    :class:`~sak_mm.models.teachers.FrozenTeachers`, outside the module
    tree: never saved into checkpoints, never optimised.

    Args:
        teacher (dict): A teacher config (``DINOv2Teacher``, ``CLIPTeacher``,
            ``SAMTeacher``...).
        teachers (Sequence[str]): Must stay empty (a probe has no adapter
            paths); accepted so the distiller can pass it.
    """

    def __init__(self, teacher: dict, teachers: Sequence[str] = ()):
        super().__init__()
        if teachers:
            raise ValueError('a FrozenTeacherBackbone is not distilled: give '
                             'the distiller no teachers')
        self.frozen = FrozenTeachers(dict(teacher=teacher))
        self.teachers: List[str] = []

    @property
    def teacher(self) -> TeacherWrapper:
        return self.frozen['teacher']

    @property
    def embed_dims(self) -> int:
        return self.teacher.embed_dims

    @property
    def out_indices(self) -> List[int]:
        return list(self.teacher.out_indices)

    def forward(self, x: torch.Tensor) -> dict:
        return dict(tas=self.teacher(x), tsap={})

    def align(self, tsap: Dict[str, List[torch.Tensor]]):
        return tsap
