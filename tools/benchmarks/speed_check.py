# Copyright (c) sak_mm contributors. All rights reserved.
"""Is a speed option worth switching on here? The default path and each
option, trained side by side on one device with the same weights and data:
images/s, peak memory, and how far the losses move from the default's.

    python tools/benchmarks/speed_check.py configs/sak/sak_vitl_nyud.py --batch 8
    python tools/benchmarks/speed_check.py --reduced      # CPU: tiny demo model

Each option is a set of ``--cfg-options`` over the config (by default:
every activation checkpointing switch the config sets turned off, the
stem's selective form, the speed layer with and without checkpointing,
compiled teachers on CUDA; or ``--option NAME KEY=VALUE ...``,
repeatable). Every option's model
gets the default model's student and teacher weights; its losses on one
batch are compared with the default's (same seed, so the routers draw the
same noise) before it trains ``--iters`` timed steps of mmengine's
``train_step`` (what ``tools/train.py`` runs per iteration, minus data
loading). An option that fails (a kernel that does not compile, out of
memory) is reported as FAILED with its reason and the others still run;
the exit code is then 1.

``--reduced`` runs the whole check on a CPU in seconds: the tiny demo
config, 2 images, fp32, and the fused kernels in Triton's interpreter
(``TRITON_INTERPRET=1``), so the fused path's code runs, though not as a
GPU compiles it. Its timings say nothing about a GPU.

A speed option becomes a default only after this check has shown it faster
on a GPU with losses equal to the default's within rounding
(docs/benchmark.md).
"""
import argparse
import copy
import gc
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
DEMO = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
sys.path.insert(0, HERE)  # benchmark.py's timing, however this file runs

#: options that compile with inductor: minutes of C++ builds on a CPU
CUDA_ONLY = ('compile teachers', )


def default_options(model: dict) -> Dict[str, List[str]]:
    """name -> --cfg-options of each option compared with the default path
    of a config's ``model``: checkpointing off where the config sets it,
    the stem's selective form, the speed layer, compiled teachers."""
    no_cp = []
    if 'with_cp' in (model.get('backbone') or {}):
        no_cp.append('model.backbone.with_cp=False')
    if 'with_cp' in (model.get('distill_loss') or {}):
        no_cp.append('model.distill_loss.with_cp=False')
    no_cp += [f'model.heads.{task}.with_cp=False'
              for task, head in (model.get('heads') or {}).items()
              if 'with_cp' in head]
    options = {'default': []}
    if no_cp:
        options['no checkpointing'] = no_cp
    if 'with_cp' in (model.get('backbone') or {}):
        options['stem with_cp=selective'] = [
            'model.backbone.with_cp=selective']
    options['fused_kernels'] = ['fused_kernels=True']
    if no_cp:
        options['fused_kernels, no checkpointing'] = [
            'fused_kernels=True', *no_cp]
    options['compile teachers'] = ['model.compile.teachers=True']
    return options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='default: the demo config '
                        'with --reduced')
    parser.add_argument('--reduced', action='store_true',
                        help='CPU check: tiny demo model, fp32, 2 images, '
                        'kernels in the Triton interpreter')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--amp', choices=['bf16', 'fp32'], default='bf16')
    parser.add_argument('--device', default='cuda')
    parser.add_argument(
        '--option', nargs='+', action='append', metavar=('NAME', 'KEY=VALUE'),
        help='compare this option (name, then --cfg-options) instead of '
        'the built-in list; repeatable')
    args = parser.parse_args(argv)
    if args.reduced:
        args.config = args.config or DEMO
        args.batch, args.iters, args.warmup = 2, 2, 1
        args.amp, args.device = 'fp32', 'cpu'
    if args.config is None:
        parser.error('a config is needed (or --reduced)')
    return args


def cfg_options(pairs: List[str]) -> dict:
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='opts')(None, namespace, pairs)
    return namespace.opts


def options_to_run(args) -> Dict[str, List[str]]:
    if args.option:
        chosen = {'default': []}
        chosen.update({o[0]: o[1:] for o in args.option})
        return chosen
    from sak_mm.utils import load_config
    options = default_options(load_config(args.config).model)
    return {name: pairs for name, pairs in options.items()
            if name not in CUDA_ONLY or args.device.startswith('cuda')}


class Run:
    """One option: its model with the reference weights, its first losses,
    then timed training steps."""

    def __init__(self, args, pairs: List[str], weights: Optional[dict]):
        import torch
        from mmengine.optim import build_optim_wrapper

        from sak_mm.registry import MODELS
        from sak_mm.utils import (load_config, set_precision,
                                  synthetic_batch, without_weight_files)
        cfg = load_config(args.config, cfg_options(pairs) if pairs else None)
        torch.manual_seed(0)
        self.model = MODELS.build(without_weight_files(cfg.model)).to(
            args.device)
        if weights is not None:
            self.model.load_state_dict(weights['student'], strict=True)
            for name, teacher in self.model.teacher_models.items():
                teacher.load_state_dict(weights['teachers'][name])
        self.model.train()
        torch.manual_seed(1)
        size = tuple(cfg.model.crop_size)
        self.batch = synthetic_batch(self.model, args.batch, size)
        self.optim_wrapper = build_optim_wrapper(
            self.model, set_precision(cfg, args.amp).optim_wrapper)

    def weights(self) -> dict:
        """Student and teacher weights, on the CPU (a copy held on the GPU
        would count in every later option's peak memory)."""
        def on_cpu(module):
            return {k: v.detach().cpu().clone()
                    for k, v in module.state_dict().items()}

        return dict(student=on_cpu(self.model),
                    teachers={n: on_cpu(t)
                              for n, t in self.model.teacher_models.items()})

    def losses(self) -> Dict[str, float]:
        """The loss entries of one forward on the batch (routers' noise
        seeded), before any update."""
        import torch
        data = self.model.data_preprocessor(copy.deepcopy(self.batch), True)
        torch.manual_seed(2)
        with self.optim_wrapper.optim_context(self.model):
            losses = self.model(**data, mode='loss')
        return {k: float(v.detach().float())
                for k, v in losses.items() if 'loss' in k}

    def time_steps(self, args) -> tuple:
        """Median step time (s) and peak memory (GiB, nan off CUDA), timed
        as ``benchmark.py`` times a training step."""
        import torch
        from benchmark import timed
        cuda = args.device.startswith('cuda')
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        step = timed(
            lambda: self.model.train_step(self.batch, self.optim_wrapper),
            args.iters, args.warmup, args.device)
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda \
            else float('nan')
        return step, peak


def check(args) -> List[dict]:
    """One result per option: name, img/s, peak GiB, max |loss diff| to
    the default (or error)."""
    import torch
    results, reference, weights = [], None, None
    for name, pairs in options_to_run(args).items():
        print(f'-- {name}: {" ".join(pairs) or "(the config as it is)"}',
              flush=True)
        run = None
        try:
            run = Run(args, pairs, weights)
            if weights is None:
                weights = run.weights()
            losses = run.losses()
            if reference is None:
                reference = losses
            if set(losses) != set(reference):
                raise RuntimeError(f'its losses {sorted(losses)} are not '
                                   f'the default\'s {sorted(reference)}')
            diff = max(abs(losses[k] - reference[k]) for k in reference)
            step, peak = run.time_steps(args)
            results.append(dict(name=name, ips=args.batch / step, peak=peak,
                                diff=diff))
        except Exception as error:  # reported, then the next option runs
            reason = f'{type(error).__name__}: {error}'.splitlines()[0]
            print(f'   FAILED: {reason}', flush=True)
            results.append(dict(name=name, error=reason))
            if name == 'default':
                break
        finally:
            del run
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    return results


def report(args, results: List[dict]) -> int:
    """Print the table and the verdict; the exit code."""
    import torch
    device = torch.cuda.get_device_name() if args.device.startswith(
        'cuda') else 'cpu'
    print(f'\n{osp.basename(args.config)}: batch {args.batch}, {args.amp}, '
          f'{args.iters} timed steps on {device}'
          + (' (reduced: Triton interpreter, timings mean nothing)'
             if args.reduced else ''))
    header = ('option', 'img/s', 'peak GiB', 'max |loss diff|', 'vs default')
    rows = []
    base = results[0].get('ips')
    for r in results:
        if 'error' in r:
            rows.append((r['name'], '-', '-', '-', 'FAILED: ' + r['error']))
            continue
        change = 100 * (r['ips'] / base - 1)
        verdict = 'the default' if r is results[0] else \
            f'{change:+.1f} % img/s'
        peak = 'n/a' if r['peak'] != r['peak'] else f'{r["peak"]:.1f}'
        rows.append((r['name'], f'{r["ips"]:.2f}', peak,
                     f'{r["diff"]:.3g}', verdict))
    widths = [max(len(str(row[i])) for row in rows + [header])
              for i in range(len(header))]
    for row in [header] + rows:
        print('  '.join(str(c).ljust(w) for c, w in zip(row, widths)))
    ok = [r for r in results if 'error' not in r]
    failed = [r['name'] for r in results if 'error' in r]
    if ok and base is not None:
        best = max(ok, key=lambda r: r['ips'])
        if best is results[0]:
            print('fastest: the default path')
        else:
            same = 'the same losses' if best['diff'] == 0 else \
                f'losses within {best["diff"]:.3g}'
            print(f'fastest: {best["name"]} '
                  f'({100 * (best["ips"] / base - 1):+.1f} % img/s over the '
                  f'default, {same})')
    if failed:
        print(f'FAILED: {", ".join(failed)} (see above); the default path '
              f'does not use them')
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.reduced:  # read when the kernels are defined: before sak_mm
        os.environ.setdefault('TRITON_INTERPRET', '1')
    from mmengine.registry import init_default_scope
    init_default_scope('sak_mm')
    return report(args, check(args))


if __name__ == '__main__':
    sys.exit(main())
