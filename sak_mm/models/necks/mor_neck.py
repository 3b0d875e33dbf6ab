# Copyright (c) sak_mm contributors. All rights reserved.
"""Mixture-of-Representations routers (paper Sec. 3.3, eq. (4))."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.registry import MODELS


class MoRRouter(nn.Module):
    """Global gate for one task and level.

    ``Linear(d, d/2) -> LayerNorm -> GELU -> Linear(d/2, E or 2E)`` per TAS
    token, averaged over tokens. With noisy gating the output splits into
    clean logits ``h`` and noise logits ``e``; training samples
    ``h + N(0, 1) * (softplus(e) + 0.01)``, evaluation uses ``h``.

    Args:
        in_channels (int): TAS width ``d``.
        num_experts (int): ``N + 1`` (TAS first, then the teachers).
        noisy_gating (bool): Add learned Gaussian noise while training.
        noise (str): ``'pixel'`` draws the noise for every token, so the
            training gates vary over the image (the SAK reference, which
            expands the logits to the map before drawing); ``'image'``
            draws one noise vector per image (the paper's Sec. 3.3 text).
    """

    def __init__(self, in_channels: int, num_experts: int,
                 noisy_gating: bool = True, noise: str = 'pixel'):
        super().__init__()
        if noise not in ('pixel', 'image'):
            raise ValueError(f"MoRRouter noise must be 'pixel' or 'image', "
                             f'got {noise!r}')
        self.num_experts = num_experts
        self.noisy_gating = noisy_gating
        self.noise = noise
        out = num_experts * (2 if noisy_gating else 1)
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, in_channels // 2),
            nn.LayerNorm(in_channels // 2), nn.GELU(),
            nn.Linear(in_channels // 2, out))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, n, d)`` TAS tokens -> ``(B, E)`` gate scores (softmax over
        the experts); ``(B, E, n)``, one per token, while training with
        per-pixel noise."""
        logits = self.mlp(tokens).mean(dim=1)
        if self.noisy_gating:
            clean, noise = logits.chunk(2, dim=-1)
            if self.training:
                std = F.softplus(noise) + 0.01
                if self.noise == 'pixel':
                    clean, std = clean[..., None], std[..., None]
                    eps = torch.randn(*clean.shape[:2], tokens.shape[1],
                                      dtype=clean.dtype, device=clean.device)
                else:
                    eps = torch.randn_like(clean)
                logits = clean + eps * std
            else:
                logits = clean
        return logits.softmax(dim=1)


def _per_pixel(gates: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``(B, E)`` or ``(B, E, h * w)`` gates -> ``(B, E, 1, 1 or h, 1 or
    w)``, to weigh ``(B, E, d, h, w)`` experts."""
    b, e = gates.shape[:2]
    if gates.dim() == 2:
        return gates[:, :, None, None, None]
    return gates.reshape(b, e, 1, *z.shape[-2:])


@MODELS.register_module()
class MoRNeck(nn.Module):
    """Per task and level, mixes the TAS map and the teachers' TSAP maps.

    .. code:: text

        for each task t and level l:
            g = Router_(t,l)(Z_l tokens)            (B, N+1)   eq. (4)
            F_(t,l) = g_0 Z_l + sum_i g_i R^i_l       (B, d, h, w)

    With ``mode='sum'`` there are no routers and every task gets the plain
    sum ``Z_l + sum_i R^i_l`` (Table 3, "TSAP without MoR").

    Args:
        tasks (Sequence[str]): Task names (one router set each).
        teachers (Sequence[str]): Teacher names in expert order.
        in_channels (int): Token width ``d``.
        num_levels (int): Number of levels (4).
        noisy_gating (bool): See :class:`MoRRouter`.
        noise (str): ``'pixel'`` (the reference) or ``'image'``; see
            :class:`MoRRouter`.
        mode (str): ``'mor'`` (routers) or ``'sum'``.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 teachers: Sequence[str],
                 in_channels: int,
                 num_levels: int = 4,
                 noisy_gating: bool = True,
                 noise: str = 'pixel',
                 mode: str = 'mor'):
        super().__init__()
        if mode not in ('mor', 'sum'):
            raise ValueError(f"MoRNeck mode must be 'mor' or 'sum', got "
                             f'{mode!r}')
        self.tasks = list(tasks)
        self.teachers = list(teachers)
        self.num_levels = num_levels
        self.mode = mode
        self.experts = ['tas'] + self.teachers
        self.routers = nn.ModuleDict()
        if mode == 'mor':
            for task in self.tasks:
                for level in range(num_levels):
                    self.routers[f'{task}_{level}'] = MoRRouter(
                        in_channels, len(self.experts), noisy_gating, noise)
            for m in self.routers.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    nn.init.zeros_(m.bias)

    def forward(self, tas: List[torch.Tensor],
                tsap: Dict[str, List[torch.Tensor]]
                ) -> Tuple[Dict[str, List[torch.Tensor]],
                           Optional[Dict[str, torch.Tensor]]]:
        """Return ``({task: [levels x (B, d, h, w)]}, gates)`` where ``gates``
        is ``{task: (B, levels, N+1)}`` (None in ``'sum'`` mode; while
        training with per-pixel noise, each gate's mean over the pixels)."""
        missing = set(self.teachers) - set(tsap)
        if missing:
            raise KeyError(f'MoRNeck expects TSAP maps of {sorted(missing)}')
        feats = {t: [] for t in self.tasks}
        if self.mode == 'sum':
            for level, z in enumerate(tas):
                total = z + sum(tsap[t][level] for t in self.teachers)
                for task in self.tasks:
                    feats[task].append(total)
            return feats, None

        gates = {t: [] for t in self.tasks}
        for level, z in enumerate(tas):
            tokens = z.flatten(2).transpose(1, 2)  # (B, h * w, d)
            level_gates = [
                self.routers[f'{task}_{level}'](tokens)
                for task in self.tasks
            ]
            maps = [tsap[t][level] for t in self.teachers]
            mixed = self._mix(z, maps, level_gates)
            for task, g, m in zip(self.tasks, level_gates, mixed):
                feats[task].append(m)
                gates[task].append(g if g.dim() == 2 else g.mean(dim=-1))
        return feats, {t: torch.stack(g, dim=1) for t, g in gates.items()}

    def _mix(self, tas: torch.Tensor, tsap: List[torch.Tensor],
             gates: List[torch.Tensor]) -> List[torch.Tensor]:
        """Eq. (4) for every task of one level: ``g_0 Z + sum_i g_i R^i``
        with each task's ``(B, N+1)`` gates (``(B, N+1, h * w)`` per
        pixel)."""
        experts = torch.stack([tas] + tsap, dim=1)  # (B, E, d, h, w)
        return [(experts * _per_pixel(g, tas).to(experts.dtype)).sum(dim=1)
                for g in gates]
