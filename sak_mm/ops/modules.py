# Copyright (c) sak_mm contributors. All rights reserved.
"""The speed layer: drop-in variants of the student's modules that run the
fused kernels, and the one config switch that selects them.

Each variant is a registered subclass with the parameters, state-dict keys
and values of the module it replaces (checkpoints load either way); it
only replaces how one step is computed:

=====================  =================  ===================================
variant                replaces           the step, as one fused computation
=====================  =================  ===================================
``FusedTSAPBackbone``  ``TSAPBackbone``   one block's adapters of all
                                          teachers (:func:`multi_adapter`)
``FusedMoRNeck``       ``MoRNeck``        one level's mixtures of all tasks
                                          (:func:`mor_mix`)
=====================  =================  ===================================

``fused_kernels = True`` at the top level of a config (what
``configs/_base_/speed/fused.py`` sets; ``--cfg-options
fused_kernels=True`` does the same) builds every module of ``model`` that
has a variant as that variant (:func:`apply_speed_layer`, called when a
config is loaded). The kernels have not been timed on a GPU yet
(docs/benchmark.md), so nothing turns them on by default.

On CUDA tensors the Triton kernels run (a compile or launch failure stops
with a :class:`FusedKernelError` naming the switch); on the CPU the
variants compute with the kernels' eager references, after a one-time
warning, except under ``TRITON_INTERPRET=1`` (the tests).
"""
import copy
import warnings
from typing import List, Optional

import torch

from sak_mm.models.backbones.tsap import TSAPBackbone
from sak_mm.models.necks.mor_neck import MoRNeck
from sak_mm.registry import MODELS
from ._triton import HAS_TRITON, SWITCH_OFF, triton_usable
from .adapter import multi_adapter
from .mor_mix import mor_mix

#: registered type -> its fused variant
FUSED_VARIANTS = {
    'TSAPBackbone': 'FusedTSAPBackbone',
    'MoRNeck': 'FusedMoRNeck',
}

_warned = set()


def _needs_triton(module: str) -> None:
    if not HAS_TRITON:
        raise RuntimeError(f'{module} runs Triton kernels, and triton is not '
                           f'installed (pip install triton); or '
                           f'{SWITCH_OFF}')


def _note_reference(module: str, tensor: torch.Tensor) -> None:
    """Warn once per module type when its kernels cannot take ``tensor``
    (a CPU tensor outside the interpreter) and the reference computes."""
    if module not in _warned and not triton_usable(tensor):
        _warned.add(module)
        warnings.warn(f'{module}: the fused kernels run on CUDA tensors; on '
                      f'{tensor.device.type} it computes with their eager '
                      f'references (the same values, no faster)')


@MODELS.register_module()
class FusedTSAPBackbone(TSAPBackbone):
    """:class:`~sak_mm.models.backbones.TSAPBackbone` whose adapter step of
    all teachers runs as one kernel (:func:`~sak_mm.ops.multi_adapter`);
    same arguments, parameters and values."""

    def __init__(self, *args, **kwargs):
        _needs_triton(type(self).__name__)  # before building anything
        super().__init__(*args, **kwargs)

    def _adapt(self, index: int, z: torch.Tensor,
               residual: Optional[torch.Tensor]) -> torch.Tensor:
        """Eq. (2) for every path as an ``(N, B, n, d)`` tensor."""
        _note_reference(type(self).__name__, z)
        adapters = [path[index] for path in self.adapters.values()]
        return multi_adapter(
            z, residual, torch.stack([a.down.weight for a in adapters]),
            torch.stack([a.down.bias for a in adapters]),
            torch.stack([a.up.weight for a in adapters]),
            torch.stack([a.up.bias for a in adapters]),
            torch.cat([a.scale for a in adapters]))


def _tokens(feature_map: torch.Tensor) -> torch.Tensor:
    return feature_map.flatten(2).transpose(1, 2)


@MODELS.register_module()
class FusedMoRNeck(MoRNeck):
    """:class:`~sak_mm.models.necks.MoRNeck` whose mixtures of all tasks of
    a level come from one pass over the experts
    (:func:`~sak_mm.ops.mor_mix`); same arguments, parameters and
    values."""

    def __init__(self, *args, **kwargs):
        _needs_triton(type(self).__name__)  # before building anything
        super().__init__(*args, **kwargs)

    def _mix(self, tas: torch.Tensor, tsap: List[torch.Tensor],
             gates: List[torch.Tensor]) -> List[torch.Tensor]:
        """Eq. (4) for every task, computed in token layout (the
        backbone's maps are views of token tensors)."""
        _note_reference(type(self).__name__, tas)
        b, d, h, w = tas.shape
        mixed = mor_mix(_tokens(tas), torch.stack([_tokens(m) for m in tsap]),
                        torch.stack(gates, dim=1))
        return [m.transpose(1, 2).reshape(b, d, h, w) for m in mixed]


def _fused(cfg) -> int:
    """Replace, in place, every ``type`` in the config tree ``cfg`` that
    has a fused variant; the number replaced or already fused."""
    count = 0
    if isinstance(cfg, dict):
        kind = cfg.get('type')
        if isinstance(kind, str):
            scope, _, name = kind.rpartition('.')
            if scope in ('', 'sak_mm') and name in FUSED_VARIANTS:
                cfg['type'] = FUSED_VARIANTS[name]
                count += 1
            elif scope in ('', 'sak_mm') and \
                    name in FUSED_VARIANTS.values():
                count += 1
        for value in cfg.values():
            count += _fused(value)
    elif isinstance(cfg, (list, tuple)):
        count += sum(_fused(value) for value in cfg)
    return count


def apply_speed_layer(cfg):
    """With ``fused_kernels=True`` at the top level of ``cfg`` (an mmengine
    ``Config``), build each module of ``cfg.model`` that has a fused variant
    (:data:`FUSED_VARIANTS`) as that variant; ``cfg`` itself, changed in
    place. Raises if the switch is on and the model has no such module."""
    switch = cfg.get('fused_kernels', False)
    if not isinstance(switch, bool):
        raise TypeError(f'fused_kernels must be True or False, got '
                        f'{switch!r}')
    if not switch:
        return cfg
    model = copy.deepcopy(cfg.get('model'))
    if not _fused(model):
        raise ValueError(
            f'fused_kernels=True, but the model has none of the modules with '
            f'fused variants ({", ".join(FUSED_VARIANTS)}); remove the switch')
    cfg.model = model
    return cfg
