# Copyright (c) sak_mm contributors. All rights reserved.
"""Recording of top-K expert routing over a dataset (MoE decoders)."""
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS
from .router_weights_hook import data_source


def model_routers(model) -> Dict[str, torch.nn.Module]:
    """``{name: router}`` of a model whose decoder routes tokens to experts
    (:meth:`BaseMultiTaskDecoder.named_routers`, e.g. FGMoE's), with a
    clear error for one that has none."""
    if is_model_wrapper(model):
        model = model.module
    decoder = getattr(model, 'heads', None)
    routers = {} if decoder is None else dict(decoder.named_routers())
    if not routers:
        raise RuntimeError(
            f'{type(model).__name__} has no routed experts: expert usage '
            f'exists for decoders with top-K routers (named_routers())')
    return routers


class ExpertUsageRecorder:
    """Counts, per router, how often each expert is chosen and its gates,
    from forward hooks on the routers (nothing in the model changes).

    Per router and expert it reports ``selected`` (the share of tokens that
    chose the expert; over experts it sums to K), ``mean_gate`` (the
    expert's renormalised gate averaged over all tokens, 0 where not
    chosen; it sums to 1) and ``gate_when_selected``.
    """

    def __init__(self, model):
        self.routers = model_routers(model)
        self.stats = {
            name: dict(count=torch.zeros(r.num_experts, dtype=torch.float64),
                       gate=torch.zeros(r.num_experts, dtype=torch.float64),
                       tokens=0)
            for name, r in self.routers.items()
        }
        self.handles: List = []

    def _hook(self, name):
        def record(module, inputs, output):
            gates, experts = output[0].detach(), output[1].detach()
            stats = self.stats[name]
            flat = experts.reshape(-1).cpu()
            stats['count'] += torch.bincount(
                flat, minlength=module.num_experts).double()
            stats['gate'].index_add_(0, flat,
                                     gates.reshape(-1).double().cpu())
            stats['tokens'] += experts.numel() // experts.shape[-1]
        return record

    def __enter__(self):
        self.handles = [
            r.register_forward_hook(self._hook(name))
            for name, r in self.routers.items()
        ]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def summarize(self) -> dict:
        """All ranks' counts, reduced (every rank gets the summary)."""
        parts = all_gather_object({
            n: (s['count'].tolist(), s['gate'].tolist(), s['tokens'])
            for n, s in self.stats.items()
        })
        routers = {}
        for name in self.stats:
            count = sum(torch.tensor(p[name][0], dtype=torch.float64)
                        for p in parts)
            gate = sum(torch.tensor(p[name][1], dtype=torch.float64)
                       for p in parts)
            tokens = sum(p[name][2] for p in parts)
            if tokens == 0:
                raise RuntimeError(f'router {name!r} routed no tokens')
            routers[name] = dict(
                tokens=int(tokens),
                selected=(count / tokens).round(decimals=6).tolist(),
                mean_gate=(gate / tokens).round(decimals=6).tolist(),
                gate_when_selected=(gate / count.clamp(min=1)).round(
                    decimals=6).tolist())
        return dict(routers=routers)


def expert_scalars(summary: dict,
                   prefix: str = 'experts') -> Dict[str, float]:
    """``experts/<router>/e<i>/{selected,mean_gate}`` scalars."""
    out = {}
    for name, stats in summary['routers'].items():
        for i, (sel, gate) in enumerate(
                zip(stats['selected'], stats['mean_gate'])):
            out[f'{prefix}/{name}/e{i}/selected'] = sel
            out[f'{prefix}/{name}/e{i}/mean_gate'] = gate
    return out


@HOOKS.register_module()
class ExpertUsageHook(Hook):
    """Record expert routing during validation and testing.

    After each val/test epoch it writes ``<work_dir>/<mode>_expert_usage
    .json`` (:class:`ExpertUsageRecorder`'s summary) and logs it as scalars.
    ``tools/analysis/router_weights.py --json`` plots it.

    Args:
        log_scalars (bool): Send the statistics to the visualizer backends.
    """

    priority = 'LOW'

    def __init__(self, log_scalars: bool = True):
        self.log_scalars = log_scalars
        self.recorder: Optional[ExpertUsageRecorder] = None
        self.last_summary: Optional[dict] = None

    def _start(self, runner) -> None:
        self.recorder = ExpertUsageRecorder(runner.model).__enter__()

    def before_val_epoch(self, runner) -> None:
        self._start(runner)

    def before_test_epoch(self, runner) -> None:
        self._start(runner)

    def _finish(self, runner, mode: str) -> None:
        self.recorder.__exit__(None, None, None)
        summary = self.recorder.summarize()
        summary['source'] = data_source(runner, mode)
        self.last_summary = summary
        if is_main_process():
            dump(summary, osp.join(runner.work_dir,
                                   f'{mode}_expert_usage.json'), indent=1)
            if self.log_scalars:
                step = runner.iter if mode == 'val' else 0
                runner.visualizer.add_scalars(expert_scalars(summary),
                                              step=step)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish(runner, 'test')
