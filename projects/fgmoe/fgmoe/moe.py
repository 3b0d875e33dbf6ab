# Copyright (c) sak_mm contributors. All rights reserved.
"""Mixture of fine-grained experts (FGMoE paper Sec. 3.4, eq. (9)-(14))."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class TopKRouter(nn.Module):
    """Sigmoid affinities to learnable expert centroids, top-K, renormalised.

    .. code:: text

        s_i = sigmoid(x . e_i)                          eq. (13)
        g_i = s_i if s_i in TopK({s_j}, K) else 0       eq. (12)
        G_i = g_i / sum_j g_j                           eq. (11)

    Args:
        channels (int): Token width ``C``.
        num_experts (int): Routed experts ``N_it``.
        top_k (int): ``K``.
    """

    def __init__(self, channels: int, num_experts: int, top_k: int):
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k must be in [1, num_experts={num_experts}]'
                             f', got {top_k}')
        self.num_experts = num_experts
        self.top_k = top_k
        self.centroids = nn.Parameter(torch.empty(num_experts, channels))
        nn.init.trunc_normal_(self.centroids, std=0.02)

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, N, C)`` tokens -> the kept gates ``G`` and their experts,
        both ``(B, N, K)``, and all affinities ``s`` ``(B, N, N_it)``."""
        # affinities in at least fp32, also under autocast: close scores
        # decide top-K
        dtype = _at_least_fp32(x.dtype)
        with torch.autocast(x.device.type, enabled=False):
            scores = torch.sigmoid(
                x.to(dtype) @ self.centroids.to(dtype).t())
        kept, experts = scores.topk(self.top_k, dim=-1)
        gates = kept / kept.sum(dim=-1, keepdim=True)
        return gates, experts, scores


class FineGrainedMoE(nn.Module):
    """``N_s`` always-on shared experts plus ``N_it`` routed fine-grained
    experts, on LayerNorm-ed tokens (eq. (9), (10), (14)):

    .. code:: text

        x_a = LN(X_a)
        y   = sum_{i<=N_s} E_i(x_a) + sum_{i<=N_it} G_i(x_a) E_i(x_a)

    An expert is ``Linear(C, h) -> GELU -> Linear(h, C)``; ``h`` is the
    fine-grained split of an MLP's hidden width. Routed experts run only on
    the tokens that selected them (sorted dispatch: gather, one GEMM pair
    per expert, weighted scatter-add); ``dispatch='dense'`` runs every
    expert on every token and masks by the gates, the reference the routed
    form is tested against, and the form an exported graph holds (the
    routed form's sizes depend on the routing).

    Args:
        channels (int): ``C``.
        hidden (int): ``h`` (256 in the paper).
        num_shared (int): ``N_s`` (2).
        num_routed (int): ``N_it`` (6).
        top_k (int): ``K`` (3).
        num_routers (int): Routers sharing the experts (one per task for the
            global MoE's task-aware routing; 1 otherwise).
        dispatch (str): ``'routed'`` or ``'dense'``.
    """

    def __init__(self,
                 channels: int,
                 hidden: int = 256,
                 num_shared: int = 2,
                 num_routed: int = 6,
                 top_k: int = 3,
                 num_routers: int = 1,
                 dispatch: str = 'routed'):
        super().__init__()
        if dispatch not in ('routed', 'dense'):
            raise ValueError(f"dispatch must be 'routed' or 'dense', got "
                             f'{dispatch!r}')
        if num_shared < 0 or num_routed < 1:
            raise ValueError(f'need num_shared >= 0 and num_routed >= 1, got '
                             f'{num_shared}, {num_routed}')
        self.channels = channels
        self.hidden = hidden
        self.num_shared = num_shared
        self.num_routed = num_routed
        self.dispatch = dispatch
        self.norm = nn.LayerNorm(channels)
        # expert weights stacked per group: (E, C, h), (E, h), (E, h, C), (E, C)
        self.shared = _ExpertBank(num_shared, channels, hidden) \
            if num_shared else None
        self.routed = _ExpertBank(num_routed, channels, hidden)
        self.routers = nn.ModuleList(
            TopKRouter(channels, num_routed, top_k)
            for _ in range(num_routers))

    def forward(self, tokens: torch.Tensor, router: int = 0
                ) -> Tuple[torch.Tensor, tuple]:
        """``(B, N, C)`` tokens -> ``y`` ``(B, N, C)`` and the routing
        ``(G, experts, s)`` of :class:`TopKRouter`."""
        x = self.norm(tokens)
        routing = self.routers[router](x)
        gates, experts, _ = routing
        b, n, c = x.shape
        flat = x.reshape(b * n, c)
        k = gates.shape[-1]
        # an exported graph (torch.export, ONNX) has no data-dependent
        # sizes: it takes the dense form, the same sums
        if self.dispatch == 'dense' or torch.compiler.is_exporting():
            y = self.routed.dense(flat, gates.reshape(-1, k),
                                  experts.reshape(-1, k))
        else:
            y = self.routed.routed(flat, gates.reshape(-1, k),
                                   experts.reshape(-1, k))
        if self.shared is not None:
            y = y + self.shared.all_summed(flat)
        return y.reshape(b, n, c), routing


class _ExpertBank(nn.Module):
    """``E`` experts ``Linear(C, h) -> GELU -> Linear(h, C)`` with stacked
    weights (initialised as ``nn.Linear`` initialises its own)."""

    def __init__(self, num: int, channels: int, hidden: int):
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(num, channels, hidden))
        self.b1 = nn.Parameter(torch.empty(num, hidden))
        self.w2 = nn.Parameter(torch.empty(num, hidden, channels))
        self.b2 = nn.Parameter(torch.empty(num, channels))
        for w, b, fan_in in ((self.w1, self.b1, channels),
                             (self.w2, self.b2, hidden)):
            bound = fan_in**-0.5
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)

    def expert(self, e: int, x: torch.Tensor) -> torch.Tensor:
        """Expert ``e`` on ``(T, C)`` tokens."""
        return F.gelu(x @ self.w1[e] + self.b1[e]) @ self.w2[e] + self.b2[e]

    def all_summed(self, x: torch.Tensor) -> torch.Tensor:
        """``sum_e E_e(x)`` as one MLP of hidden width ``E * h`` (eq. (14))."""
        num, c, h = self.w1.shape
        hid = F.gelu(x @ self.w1.permute(1, 0, 2).reshape(c, num * h) +
                     self.b1.reshape(-1))
        return hid @ self.w2.reshape(num * h, c) + self.b2.sum(0)

    def routed(self, x: torch.Tensor, gates: torch.Tensor,
               experts: torch.Tensor) -> torch.Tensor:
        """``sum_k G_k E_{experts_k}(x)`` over ``(T, C)`` tokens, each expert
        run on the tokens that chose it."""
        k = experts.shape[1]
        flat = experts.reshape(-1)
        order = flat.argsort(stable=True)
        token = order // k
        counts = torch.bincount(flat, minlength=self.w1.shape[0]).tolist()
        chunks = x[token].split(counts)
        out = torch.cat([
            self.expert(e, chunk) for e, chunk in enumerate(chunks)
        ])
        weight = gates.reshape(-1)[order]
        # the K weighted outputs of a token are summed in at least fp32
        # (under autocast the experts run in bf16)
        dtype = _at_least_fp32(out.dtype)
        y = out.new_zeros(x.shape[0], out.shape[1], dtype=dtype)
        y.index_add_(0, token, out.to(dtype) * weight[:, None])
        return y.to(out.dtype)

    def dense(self, x: torch.Tensor, gates: torch.Tensor,
              experts: torch.Tensor) -> torch.Tensor:
        """The same sum, every expert on every token, weights zero where
        not chosen (the reference)."""
        full = gates.new_zeros(x.shape[0], self.w1.shape[0])
        full.scatter_(1, experts, gates)
        outs = torch.stack(
            [self.expert(e, x) for e in range(self.w1.shape[0])], dim=1)
        dtype = _at_least_fp32(outs.dtype)
        return (outs.to(dtype) * full[..., None]).sum(1).to(outs.dtype)


def _at_least_fp32(dtype: torch.dtype) -> torch.dtype:
    """fp32 for lower precisions (bf16, fp16), the dtype itself above."""
    return torch.promote_types(dtype, torch.float32)
