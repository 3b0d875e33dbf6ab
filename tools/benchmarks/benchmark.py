# Copyright (c) sak_mm contributors. All rights reserved.
"""Training / inference speed, memory and FLOPs of a config, on synthetic
data with random weights (nothing is read from disk but the config).

    python tools/benchmarks/benchmark.py configs/sak/sak_vitl_nyud.py --mode train --batch 8 --amp bf16
    python tools/benchmarks/benchmark.py configs/sak/sak_vitl_nyud.py --mode infer --batch 1 --amp bf16

A training step is mmengine's ``model.train_step`` with the config's own
optim wrapper (switched to ``--amp``), so it is what ``tools/train.py``
runs per iteration minus data loading. Prints the median step time after
warm-up, images/s, peak memory, FLOPs per image (counted with torch's
FlopCounterMode), model FLOPs utilisation and, for training, the split
between teachers, student (forward + backward) and optimizer (measured
separately, so the parts add up only approximately). Model switches go
through ``--cfg-options``, e.g. ``fused_kernels=True`` (the speed layer),
``model.backbone.with_cp=True`` or ``model.compile.predict.mode=reduce-overhead``.
``--profile N`` then runs N more steps under ``torch.profiler`` and prints
the operators and kernels that took the most time (self time on the GPU,
or on the CPU without one); ``--trace FILE`` also writes them as a Chrome
trace.
"""
import argparse
import os.path as osp
import statistics
import time

import torch
from mmengine.config import DictAction

PEAK_TFLOPS = {'bf16': 790.0, 'fp32': 67.0}  # dense, one H100
MARKDOWN_HEADER = (
    '| config | options | mode | batch | amp | img/s | ms / step | peak GiB '
    '| TFLOP / img | MFU | time split |\n'
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--mode', choices=['train', 'infer'], default='train')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--amp', choices=['bf16', 'fp32'], default='bf16')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu')
    parser.add_argument('--peak-tflops', type=float,
                        help='device peak for MFU (default: H100 dense)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='profile N more steps and print where their '
                        'time went')
    parser.add_argument('--trace', metavar='FILE',
                        help='with --profile: also write a Chrome trace')
    parser.add_argument('--markdown-row', metavar='FILE',
                        help='also append the result as one row of a '
                        'markdown table to FILE (a new FILE starts with the '
                        'header)')
    args = parser.parse_args()
    if args.trace and not args.profile:
        parser.error('--trace needs --profile N')
    return args


def timed(fn, iters, warmup, device):
    """Median seconds of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile(fn, steps: int, device: str, trace=None, rows: int = 25) -> str:
    """The ``rows`` operators and kernels with the most self time over
    ``steps`` calls of ``fn`` (on the GPU for CUDA, else on the CPU), as
    torch.profiler's table."""
    from torch.profiler import ProfilerActivity
    cuda = device.startswith('cuda')
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if cuda else [])
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            fn()
        if cuda:
            torch.cuda.synchronize()
    if trace:
        prof.export_chrome_trace(trace)
    key = 'self_cuda_time_total' if cuda else 'self_cpu_time_total'
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def count_flops(fn) -> float:
    """FLOPs of ``fn`` (``sak_mm.utils.flop_counter``, which knows the fused
    operators); compiled code runs eagerly while counting, since compiled
    graphs are invisible to the counter (the same arithmetic)."""
    from sak_mm.utils import flop_counter
    counter = flop_counter(display=False)
    with torch.compiler.set_stance('force_eager'), counter:
        fn()
    return float(counter.get_total_flops())


def main():
    args = parse_args()
    from sak_mm.registry import MODELS
    from sak_mm.utils import (load_config, set_build_teachers,
                              synthetic_batch, without_weight_files)
    cfg = load_config(args.config, args.cfg_options)
    model_cfg = without_weight_files(cfg.model)
    if args.mode == 'infer':
        set_build_teachers(model_cfg, False)
    model = MODELS.build(model_cfg).to(args.device)
    model.init_weights()
    size = tuple(cfg.model.crop_size)
    batch = synthetic_batch(model, args.batch, size)
    dtype = torch.bfloat16 if args.amp == 'bf16' else torch.float32
    autocast = dict(device_type=args.device.split(':')[0], dtype=dtype,
                    enabled=args.amp == 'bf16')
    device = args.device

    if args.mode == 'train':
        from mmengine.optim import build_optim_wrapper

        from sak_mm.utils import set_precision
        if args.amp != 'fp32' and not device.startswith('cuda'):
            raise SystemExit('--amp bf16 trains with mmengine\'s '
                             'AmpOptimWrapper, which needs a GPU; use --amp '
                             'fp32 on the CPU')
        model.train()
        optim_wrapper = build_optim_wrapper(
            model, set_precision(cfg, args.amp).optim_wrapper)
        data = model.data_preprocessor(batch, True)

        def step():
            model.train_step(batch, optim_wrapper)

        def forward_backward():
            with optim_wrapper.optim_context(model):
                losses = model(**data, mode='loss')
            loss, _ = model.parse_losses(losses)
            optim_wrapper.backward(loss)

        def optimizer_step():
            optim_wrapper.step()
            optim_wrapper.zero_grad()

        def teachers():
            with optim_wrapper.optim_context(model):
                for t in model.teacher_models.values():
                    t(data['inputs'])

        if device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        t_step = timed(step, args.iters, args.warmup, device)
        peak = torch.cuda.max_memory_allocated() / 2**30 \
            if device.startswith('cuda') else float('nan')
        t_teach = timed(teachers, args.iters, 2, device)
        forward_backward()
        t_opt = timed(optimizer_step, args.iters, 2, device)
        flops = count_flops(forward_backward)
        optim_wrapper.zero_grad()
        split = (f'teachers {100 * t_teach / t_step:.0f}%, student fwd+bwd '
                 f'{100 * (t_step - t_teach - t_opt) / t_step:.0f}%, '
                 f'optimizer {100 * t_opt / t_step:.0f}%')
    else:
        model.eval()
        data = model.data_preprocessor(batch, False)

        @torch.no_grad()
        def step():
            with torch.autocast(**autocast):
                model(**data, mode='predict')

        if device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        t_step = timed(step, args.iters, args.warmup, device)
        peak = torch.cuda.max_memory_allocated() / 2**30 \
            if device.startswith('cuda') else float('nan')
        flops = count_flops(step)
        split = 'student only'

    peak_tflops = args.peak_tflops or PEAK_TFLOPS[args.amp]
    mfu = flops / t_step / (peak_tflops * 1e12)
    rows = [
        ('config', args.config), ('mode', args.mode), ('batch', args.batch),
        ('amp', args.amp), ('device', torch.cuda.get_device_name()
                            if device.startswith('cuda') else 'cpu'),
        ('step time (median, ms)', f'{1000 * t_step:.1f}'),
        ('images / s', f'{args.batch / t_step:.2f}'),
        ('peak memory (GiB)', f'{peak:.2f}'),
        ('FLOPs / image (GFLOP)', f'{flops / args.batch / 1e9:.3f}'),
        ('MFU', f'{100 * mfu:.1f}% of {peak_tflops:.0f} TFLOP/s'),
        ('time split', split),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f'{key.ljust(width)}  {value}')
    if args.profile:
        print(f'\nwhere the time of {args.profile} profiled steps went')
        print(profile(step, args.profile, device, args.trace))
    if args.markdown_row:
        options = ' '.join(f'{k}={v}' for k, v in
                           (args.cfg_options or {}).items()) or 'defaults'
        cells = (osp.basename(args.config), options, args.mode, args.batch,
                 args.amp, f'{args.batch / t_step:.2f}',
                 f'{1000 * t_step:.1f}', f'{peak:.1f}',
                 f'{flops / args.batch / 1e12:.2f}', f'{100 * mfu:.1f} %',
                 split)
        new_table = not osp.exists(args.markdown_row)
        with open(args.markdown_row, 'a') as f:
            f.write((MARKDOWN_HEADER if new_table else '') + '| ' +
                    ' | '.join(str(c) for c in cells) + ' |\n')


if __name__ == '__main__':
    main()
