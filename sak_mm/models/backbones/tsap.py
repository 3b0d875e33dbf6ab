# Copyright (c) sak_mm contributors. All rights reserved.
"""Teacher-Agnostic Stem + Teacher-Specific Adapter Paths (paper Sec. 3.2)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule

from sak_mm.models.utils import (evenly_spaced_levels, plain_drop_probs,
                                 with_crop)
from sak_mm.models.utils.checkpoint import check_with_cp, checkpointed
from sak_mm.registry import MODELS


class Adapter(nn.Module):
    """Residual bottleneck adapter, eq. (3):
    ``R_out = alpha * GELU(R_in W_down) W_up + R_in`` with a learnable scalar
    ``alpha`` initialised to 1.

    Args:
        dims (int): Token width ``d``.
        down_ratio (int): ``d / r``; 4 in the paper.
    """

    def __init__(self, dims: int, down_ratio: int = 4):
        super().__init__()
        self.down = nn.Linear(dims, dims // down_ratio)
        self.act = nn.GELU()
        self.up = nn.Linear(dims // down_ratio, dims)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.up(self.act(self.down(x)))


def _drop_unused_aligners(module, state_dict, prefix, *args) -> None:
    """Stage 2 drops the stage-1 aligners when it has none (paper B)."""
    if module.aligners is not None:
        return
    keys = [k for k in state_dict if k.startswith(prefix + 'aligners.')]
    for k in keys:
        del state_dict[k]
    if keys:
        print_log(f'TSAPBackbone: dropped {len(keys)} aligner weights from '
                  f'the loaded checkpoint (no aligners here)',
                  logger='current')


def _tokens_to_map(tokens: torch.Tensor, hw) -> torch.Tensor:
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, *hw)


@MODELS.register_module()
class TASBackbone(BaseModule):
    """The Teacher-Agnostic Stem alone: a plain ViT read at 4 levels (the
    multi-task and single-task baselines' backbone).

    .. code:: text

        Z_0 = PatchEmbed(X) (+cls, +pos);  Z_l = b_l(Z_(l-1))
        at each level l in {L/4, L/2, 3L/4, L}: Z_l, prefix tokens dropped,
        no final norm -> (B, d, h, w)

    Args:
        stem (dict): Config of an mmpretrain ``VisionTransformer`` with
            ``final_norm=False`` (e.g. ``arch='large', patch_size=16,
            img_size=(448, 576)``); its ``init_cfg`` loads pretrained weights.
        out_indices (Sequence[int], optional): The 4 levels; defaults to the
            evenly spaced blocks.
        with_cp (bool | str): Activation checkpointing of the stem's
            blocks while training (:mod:`sak_mm.models.utils.checkpoint`):
            ``'selective'`` keeps each block's GEMM and attention outputs
            and recomputes the rest (norms, GELU, weight casts) in the
            backward pass; True recomputes whole blocks (~1/3 more stem
            compute); False keeps everything. Values are the same.
        init_cfg (dict, optional): mmengine init config of the whole module.
    """

    def __init__(self,
                 stem: dict,
                 out_indices: Optional[Sequence[int]] = None,
                 with_cp: Union[bool, str] = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.with_cp = check_with_cp(with_cp)
        self.stem = MODELS.build(stem)
        plain_drop_probs(self.stem)  # no graph breaks under torch.compile
        if getattr(self.stem, 'final_norm', False):
            raise ValueError('the TAS stem must be built with '
                             'final_norm=False: its last level is read '
                             'before any final norm, like the teachers\'')
        self.embed_dims = self.stem.embed_dims
        self.num_extra_tokens = self.stem.num_extra_tokens
        self.out_indices = list(out_indices) if out_indices is not None \
            else evenly_spaced_levels(self.stem.num_layers)

    @classmethod
    def with_crop(cls, cfg: dict, crop_size) -> dict:
        """The stem is built for the training crop (:func:`with_crop`)."""
        return dict(cfg, stem=with_crop(cfg['stem'], crop_size))

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        """A tiny stem (4 blocks of width 32) for the config smoke tests."""
        return dict(stem=dict(arch=dict(embed_dims=32, num_layers=4,
                                        num_heads=2, feedforward_channels=64)))

    @property
    def out_channels(self) -> int:
        """Every level's width (a decoder's ``in_channels``)."""
        return self.embed_dims

    def _embed(self, x: torch.Tensor):
        """``Z_0``: the stem's embedding, as ``VisionTransformer.forward``
        computes it before its blocks."""
        from mmpretrain.models.utils import resize_pos_embed
        stem = self.stem
        x, hw = stem.patch_embed(x)
        if stem.cls_token is not None:
            x = torch.cat([stem.cls_token.expand(x.shape[0], -1, -1), x], 1)
        x = x + resize_pos_embed(
            stem.pos_embed,
            stem.patch_resolution,
            hw,
            mode=stem.interpolate_mode,
            num_extra_tokens=stem.num_extra_tokens)
        return stem.pre_norm(stem.drop_after_pos(x)), hw

    def _block(self, layer: nn.Module, z: torch.Tensor) -> torch.Tensor:
        if self.with_cp and self.training and z.requires_grad:
            return checkpointed(layer, z, with_cp=self.with_cp)
        return layer(z)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Return the 4 levels ``[(B, d, h, w)] * 4``."""
        z, hw = self._embed(x)
        levels = []
        for i, layer in enumerate(self.stem.layers):
            z = self._block(layer, z)
            if i in self.out_indices:
                levels.append(_tokens_to_map(z[:, self.num_extra_tokens:], hw))
            if i == self.out_indices[-1]:
                break
        return levels


@MODELS.register_module()
class TSAPBackbone(TASBackbone):
    """A ViT stem (TAS) with one adapter path (TSAP) per teacher (the SAK
    student's backbone).

    .. code:: text

        Z_0 = PatchEmbed(X) (+cls, +pos)       R^i_0 = a^i_0(Z_0)
        Z_l = b_l(Z_(l-1))                     R^i_l = a^i_l(R^i_(l-1) + Z_l)
        at each level l in {L/4, L/2, 3L/4, L}:
            tas[l]     = Z_l          (prefix tokens dropped) -> (B, d, h, w)
            tsap[i][l] = LN^i_l(R^i_l) (prefix tokens dropped) -> (B, d, h, w)

    Args:
        stem (dict): Config of an mmpretrain ``VisionTransformer`` with
            ``final_norm=False`` (e.g. ``arch='large', patch_size=16,
            img_size=(448, 576)``); its ``init_cfg`` loads pretrained weights.
        teachers (Sequence[str]): Teacher names, one adapter path each, in
            the order the MoR experts use.
        down_ratio (int): Adapter bottleneck ratio ``d / r``.
        out_indices (Sequence[int], optional): The 4 levels; defaults to the
            evenly spaced blocks.
        aligner_dims (dict, optional): ``{teacher: C_t}``; builds a Linear
            aligner per teacher and level mapping ``d -> C_t``, used only for
            distillation (:meth:`align`). Needed when a teacher's width
            differs from the stem's.
        adapter_paths (bool): False builds no adapters: every teacher's
            "path" is the TAS itself, so all teachers are distilled into the
            one shared representation through their aligners (the
            many-to-one student without biases of Table 2 / Table 3 row 1).
        with_cp (bool | str): As :class:`TASBackbone`'s.
        init_cfg (dict, optional): mmengine init config of the whole module.
    """

    def __init__(self,
                 stem: dict,
                 teachers: Sequence[str] = (),
                 down_ratio: int = 4,
                 out_indices: Optional[Sequence[int]] = None,
                 aligner_dims: Optional[Dict[str, int]] = None,
                 adapter_paths: bool = True,
                 with_cp: Union[bool, str] = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(stem, out_indices, with_cp, init_cfg)
        self.teachers = list(teachers)
        self.adapter_paths = adapter_paths
        path_teachers = self.teachers if adapter_paths else []
        num_adapters = self.stem.num_layers + 1
        self.adapters = nn.ModuleDict({
            t: nn.ModuleList(
                Adapter(self.embed_dims, down_ratio)
                for _ in range(num_adapters))
            for t in path_teachers
        })
        self.out_norms = nn.ModuleDict({
            t: nn.ModuleList(
                nn.LayerNorm(self.embed_dims) for _ in self.out_indices)
            for t in path_teachers
        })
        self.aligners = None
        if aligner_dims:
            unknown = set(aligner_dims) - set(self.teachers)
            if unknown:
                raise KeyError(f'aligner_dims names unknown teachers '
                               f'{sorted(unknown)}; teachers: {self.teachers}')
            self.aligners = nn.ModuleDict({
                t: nn.ModuleList(
                    nn.Linear(self.embed_dims, dim) for _ in self.out_indices)
                for t, dim in aligner_dims.items()
            })
        self.register_load_state_dict_pre_hook(_drop_unused_aligners)
        self._init_adapter_weights()

    def _init_adapter_weights(self) -> None:
        """Truncated-normal(0.02) linears, zero biases, unit LayerNorms (as
        the reference initialises adapters, norms and aligners)."""
        for module in (self.adapters, self.out_norms, self.aligners):
            if module is None:
                continue
            for m in module.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.LayerNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def _adapt(self, index: int, z: torch.Tensor, residual):
        """Eq. (2) for every path: ``R^i = a^i_index(R^i + Z)``
        (``a^i_0(Z)`` without ``residual``); a sequence indexed by path."""
        adapters = [path[index] for path in self.adapters.values()]
        return [
            a(z if residual is None else residual[j] + z)
            for j, a in enumerate(adapters)
        ]

    def forward(self, x: torch.Tensor) -> dict:
        """Return ``dict(tas=[4 x (B, d, h, w)], tsap={teacher: [4 x ...]})``.
        """
        z, hw = self._embed(x)
        n = self.num_extra_tokens
        paths = list(self.adapters)
        residual = self._adapt(0, z, None) if paths else None
        tas: List[torch.Tensor] = []
        tsap: Dict[str, List[torch.Tensor]] = {t: [] for t in paths}
        for i, layer in enumerate(self.stem.layers):
            z = self._block(layer, z)
            if paths:
                residual = self._adapt(i + 1, z, residual)
            if i in self.out_indices:
                level = self.out_indices.index(i)
                tas.append(_tokens_to_map(z[:, n:], hw))
                for j, t in enumerate(paths):
                    normed = self.out_norms[t][level](residual[j][:, n:])
                    tsap[t].append(_tokens_to_map(normed, hw))
            if i == self.out_indices[-1]:
                break
        if not self.adapter_paths:
            tsap = {t: tas for t in self.teachers}
        return dict(tas=tas, tsap=tsap)

    def align(self, tsap: Dict[str, List[torch.Tensor]]
              ) -> Dict[str, List[torch.Tensor]]:
        """Map each TSAP level to its teacher's width (identity without
        aligners); used for distillation only."""
        if self.aligners is None:
            return tsap
        out = {}
        for t, maps in tsap.items():
            if t not in self.aligners:
                out[t] = maps
                continue
            out[t] = [
                lin(m.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                for lin, m in zip(self.aligners[t], maps)
            ]
        return out
