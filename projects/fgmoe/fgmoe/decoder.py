# Copyright (c) sak_mm contributors. All rights reserved.
"""The FGMoE multi-task decoder (paper Fig. 1, Sec. 3)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from sak_mm.models.decode_heads import BaseMultiTaskDecoder, BaseTaskHead
from sak_mm.registry import MODELS
from .mixer import DeformableMixer, FeatureAggregator
from .moe import FineGrainedMoE


@MODELS.register_module()
class ConvHead(BaseTaskHead):
    """DeMT's task head: ``Conv3x3 -> BN -> ReLU -> Conv1x1``; the logits
    are resized to the labels (loss) or the image (prediction).

    Args:
        in_channels (int): Width of the decoder map.
        channels (int): Hidden width (DeMT: the aggregated width ``C''``
            divided by 8).
        **kwargs: ``task``, ``out_channels``, ``loss`` of
            :class:`BaseTaskHead`.
    """

    def __init__(self, in_channels: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.cls = nn.Conv2d(channels, self.out_channels, 1)
        nn.init.normal_(self.cls.weight, std=0.01)  # DeMT's logits init
        nn.init.zeros_(self.cls.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.conv(x))


@MODELS.register_module()
class FGMoEDecoder(BaseMultiTaskDecoder):
    """Feature aggregator, per-task deformable mixers and task-specific
    MoEs, a global MoE shared by all tasks, and per-task heads.

    .. code:: text

        levels --aggregator--> X (B, C, h, w)                        Sec. 3.2
        y_g = GMoE(X) + X                                          eq. (15)
        task t: X --mixer_t--> X_a --TSM_t--> y_t                  Sec. 3.3-3.4
                head_t(y_t + y_g) -> logits_t

    With per-task features (the SAK student's MoR mixtures), task ``t``'s
    branch starts from the aggregated ``task_feats[t]`` instead of ``X``
    (same aggregator) and the global MoE takes the shared levels.

    Each part can be left out for the paper's Table 5 ablation
    (``mixer=None``, ``task_moe=None``, ``global_moe=None``: the multi-task
    baseline is aggregator + heads).

    Args:
        in_channels (int | Sequence[int]): Channels of the levels (an int:
            ``num_levels`` levels of that width, e.g. a ViT).
        heads (dict): ``{task: dict(out_channels=..., loss=...)}``; each
            becomes a :class:`ConvHead` unless it names another ``type``.
        channels (int): ``C`` (256, as DeMT).
        num_levels (int): Levels when ``in_channels`` is an int.
        aggregate_scale (float): Aggregated size relative to the first level.
        head_channels (int, optional): Heads' hidden width; None: ``C'' //
            8`` as DeMT.
        mixer (dict, optional): :class:`DeformableMixer` options.
        task_moe (dict, optional): :class:`FineGrainedMoE` options of the
            task-specific MoEs.
        global_moe (dict, optional): Options of the global MoE.
        task_routed_global (bool): Give the global MoE one router per task
            over its shared experts ("routes by task requirements"); each
            task then gets its own ``y_g``.
        balance_loss_weight (float): Weight of an optional load-balancing
            loss per MoE (not in the paper; 0 = off): ``N_it * sum_i f_i
            P_i`` with ``f_i`` the share of top-K choices going to expert
            ``i`` and ``P_i`` its mean normalised affinity (Switch
            Transformer's form), logged as ``decode.fgmoe.loss_balance``.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 heads: Dict[str, dict],
                 channels: int = 256,
                 num_levels: int = 4,
                 aggregate_scale: float = 1.0,
                 head_channels: Optional[int] = None,
                 mixer: Optional[dict] = dict(),
                 task_moe: Optional[dict] = dict(),
                 global_moe: Optional[dict] = dict(),
                 task_routed_global: bool = False,
                 balance_loss_weight: float = 0.0):
        super().__init__()
        if not heads:
            raise ValueError('FGMoEDecoder needs at least one task head')
        if isinstance(in_channels, int):
            in_channels = [in_channels] * num_levels
        self.tasks = list(heads)
        self.balance_loss_weight = balance_loss_weight
        self.aggregator = FeatureAggregator(in_channels, channels,
                                            aggregate_scale)
        self.mixers = None if mixer is None else nn.ModuleDict({
            t: DeformableMixer(channels, **mixer)
            for t in self.tasks
        })
        self.task_moes = None if task_moe is None else nn.ModuleDict({
            t: FineGrainedMoE(channels, **task_moe)
            for t in self.tasks
        })
        self.task_routed_global = task_routed_global
        self.global_moe = None if global_moe is None else FineGrainedMoE(
            channels, num_routers=len(self.tasks) if task_routed_global
            else 1, **global_moe)
        head_channels = head_channels or sum(in_channels) // 8
        self.task_heads = nn.ModuleDict({
            t: MODELS.build(
                dict(dict(type='ConvHead'), **cfg, task=t,
                     in_channels=channels, channels=head_channels))
            for t, cfg in heads.items()
        })

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        """Narrow widths for the config smoke tests (parts a config switches
        off stay off)."""
        return dict(channels=16, head_channels=8, mixer=dict(num_heads=2),
                    task_moe=dict(hidden=8), global_moe=dict(hidden=8))

    def task_head(self, task: str) -> BaseTaskHead:
        return self.task_heads[task]

    def named_routers(self):
        """``(name, TopKRouter)`` of every MoE: ``<task>`` for the
        task-specific ones, ``global`` (or ``global.<task>``) for the
        global MoE. Their outputs are the gates and choices the expert-usage
        recording reads."""
        if self.task_moes is not None:
            for t, moe in self.task_moes.items():
                yield t, moe.routers[0]
        if self.global_moe is not None:
            if self.task_routed_global:
                for t, router in zip(self.tasks, self.global_moe.routers):
                    yield f'global.{t}', router
            else:
                yield 'global', self.global_moe.routers[0]

    # -- forward -------------------------------------------------------------
    def forward(self, feats: List[torch.Tensor],
                task_feats: Optional[Dict[str, List[torch.Tensor]]] = None,
                return_routing: bool = False):
        """Every task's logits (and, with ``return_routing``, every MoE's
        routing ``(G, experts, s)``)."""
        x = self.aggregator(feats)
        b, c, h, w = x.shape
        routing = []
        shared = x.flatten(2).transpose(1, 2)  # (B, N, C)
        global_out = {}
        if self.global_moe is not None:
            for i, t in enumerate(self.tasks):
                if i and not self.task_routed_global:
                    global_out[t] = global_out[self.tasks[0]]
                    continue
                y, r = self.global_moe(shared, router=i)
                global_out[t] = y + shared  # eq. (15)
                routing.append(r)
        logits = {}
        for t in self.tasks:
            src = x if task_feats is None else self.aggregator(task_feats[t])
            if self.mixers is not None:
                z = self.mixers[t](src)
            else:
                z = src.flatten(2).transpose(1, 2)
            if self.task_moes is not None:
                z, r = self.task_moes[t](z)
                routing.append(r)
            if global_out:
                z = z + global_out[t]
            logits[t] = self.task_heads[t](
                z.transpose(1, 2).reshape(b, c, h, w))
        return (logits, routing) if return_routing else logits

    def loss(self, feats, data_samples, task_feats=None):
        logits, routing = self(feats, task_feats, return_routing=True)
        losses = self.loss_by_feat(logits, data_samples)
        if self.balance_loss_weight > 0 and routing:
            losses['fgmoe.loss_balance'] = self.balance_loss_weight * sum(
                balance_loss(*r) for r in routing) / len(routing)
        return losses


def balance_loss(gates: torch.Tensor, experts: torch.Tensor,
                 scores: torch.Tensor) -> torch.Tensor:
    """Switch-Transformer load balance ``E * sum_i f_i P_i`` of one router:
    ``f_i`` the share of the top-K choices that go to expert ``i`` (no
    gradient), ``P_i`` its mean affinity normalised over experts. 1 when
    perfectly balanced."""
    num = scores.shape[-1]
    counts = torch.bincount(experts.reshape(-1), minlength=num).float()
    share = counts / counts.sum()
    prob = (scores / scores.sum(-1, keepdim=True)).reshape(-1, num).mean(0)
    return num * (share * prob).sum()
