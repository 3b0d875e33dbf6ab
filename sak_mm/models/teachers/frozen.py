# Copyright (c) sak_mm contributors. All rights reserved.
"""Frozen teachers held beside a model, outside its module tree."""
from typing import Dict, Iterator, Mapping

from sak_mm.registry import MODELS
from .base import TeacherWrapper


class FrozenTeachers(Mapping):
    """``{name: teacher}``, built from teacher configs, that a model keeps
    as a plain attribute rather than as submodules.

    Outside the module tree, teachers are never saved into checkpoints,
    given to the optimizer or DDP, re-initialised by ``init_weights``,
    switched to train mode or cast by ``model.half()``/``.double()``: each
    keeps its own dtype (fp32, or the autocast dtype once it has run under
    autocast) and runs on the device of its input, moving there on its
    first call (:meth:`TeacherWrapper.forward`).

    Args:
        cfgs (dict): ``{name: teacher config}``; the order is kept.
    """

    def __init__(self, cfgs: Dict[str, dict]):
        self._teachers = {n: MODELS.build(cfg) for n, cfg in cfgs.items()}
        for name, teacher in self._teachers.items():
            if not isinstance(teacher, TeacherWrapper):
                raise TypeError(f'teacher {name!r} is a '
                                f'{type(teacher).__name__}, not a '
                                f'TeacherWrapper')

    def __getitem__(self, name: str) -> TeacherWrapper:
        return self._teachers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._teachers)

    def __len__(self) -> int:
        return len(self._teachers)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({list(self._teachers)})'
