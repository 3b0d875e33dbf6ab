# Copyright (c) sak_mm contributors. All rights reserved.
"""Curves and training time from the scalar logs of runs (mmseg's tool).

    python tools/analysis/analyze_logs.py plot_curve \\
        work_dirs/x/*/vis_data/scalars.json --keys loss semseg/mIoU \\
        [--legend a b] [--title T] [--out curves.png]
    python tools/analysis/analyze_logs.py cal_train_time \\
        work_dirs/x/*/vis_data/scalars.json [--include-outliers]

``plot_curve`` draws one panel per key against the iteration, every run
overlaid (legend: the run's work dir and timestamp, or ``--legend``);
``cal_train_time`` prints each run's seconds per training iteration.
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np


def load_scalars(path: str) -> List[dict]:
    """The records of a ``scalars.json`` (one JSON object per line, as
    mmengine's local backend writes them), with errors naming the file and
    line."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such log (a run writes '
                                f'<work_dir>/<timestamp>/vis_data/'
                                f'scalars.json)')
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}, line {number}: not a JSON record '
                                 f'({error})') from None
    return records


def run_name(path: str) -> str:
    """``<work dir>/<timestamp>`` of ``.../<work dir>/<timestamp>/vis_data/
    scalars.json``."""
    parts = osp.abspath(path).split(osp.sep)
    return '/'.join(parts[-4:-2]) if len(parts) >= 4 else path


def logged_keys(records: List[dict]) -> str:
    """The first keys a log has, for messages."""
    known = sorted({k for r in records for k in r} - {'step'})
    return ', '.join(known[:12]) + (f', ... ({len(known)} in all)'
                                    if len(known) > 12 else '')


def curve(records: List[dict], key: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of ``key`` over the records that log it (empty
    if none does)."""
    points = [(r['step'], r[key]) for r in records if key in r]
    steps, values = zip(*points) if points else ((), ())
    return np.asarray(steps), np.asarray(values, dtype=float)


def plot_curve(logs: Dict[Tuple[str, str], List[dict]], keys: List[str],
               out: str, title: str = None):
    """One panel per key, the curve of every run that logs it (a run that
    does not, e.g. a test run caught by a glob, is named and skipped; a key
    no run logs is an error); returns the Figure."""
    from sak_mm.visualization.plots import off_screen_figure
    fig = off_screen_figure(figsize=(4.5 * len(keys), 3.2),
                            layout='constrained')
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    absent = {path: [] for _, path in logs}
    for ax, key in zip(axes, keys):
        drawn = 0
        for (name, path), records in logs.items():
            steps, values = curve(records, key)
            if not len(steps):
                absent[path].append(key)
                continue
            ax.plot(steps, values, marker='o' if len(steps) < 5 else None,
                    label=name)
            drawn += 1
        if not drawn:
            (_, path), records = next(iter(logs.items()))
            raise KeyError(f'no log has {key!r}; {path} logs: '
                           f'{logged_keys(records)}')
        ax.set_xlabel('iteration')
        ax.set_ylabel(key)
        ax.set_title(key, fontsize=9)
        ax.legend(fontsize=7)
    for path, missing in absent.items():
        if missing:
            print(f'{path} logs none of {missing} (a test run?): left out of '
                  f'those panels')
    if title:
        fig.suptitle(title)
    fig.savefig(out, dpi=150)
    return fig


def train_time(records: List[dict],
               include_outliers: bool = False) -> Optional[dict]:
    """Seconds per training iteration (the ``time`` of the records that
    log a ``loss``, each an average over its logging interval); the first
    interval (warm-up: data workers starting, first allocations) is left
    out unless ``include_outliers``. None for a log without training."""
    train = [r for r in records if 'loss' in r and 'time' in r]
    if not include_outliers:
        train = train[1:]
    if not train:
        return None
    times = np.array([r['time'] for r in train])
    return dict(mean=float(times.mean()), std=float(times.std()),
                slowest=(int(train[times.argmax()]['step']),
                         float(times.max())),
                fastest=(int(train[times.argmin()]['step']),
                         float(times.min())),
                intervals=len(train))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot scalars of runs')
    plot.add_argument('logs', nargs='+', help='scalars.json of each run')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='scalars to plot (default: loss)')
    plot.add_argument('--legend', nargs='+', help='a name per run')
    plot.add_argument('--title')
    plot.add_argument('--out', default='curves.png')
    time = sub.add_parser('cal_train_time', help='time per iteration')
    time.add_argument('logs', nargs='+', help='scalars.json of each run')
    time.add_argument('--include-outliers', action='store_true',
                      help='keep the first logging interval')
    return parser.parse_args()


def main():
    args = parse_args()
    logs = {}
    names = getattr(args, 'legend', None) or [run_name(p) for p in args.logs]
    if len(names) != len(args.logs):
        raise ValueError(f'{len(args.logs)} logs but {len(names)} --legend '
                         f'names')
    for name, path in zip(names, args.logs):
        logs[(name, path)] = load_scalars(path)
    if args.task == 'plot_curve':
        plot_curve(logs, args.keys, args.out, args.title)
        print(f'{len(args.keys)} panel(s) of {len(logs)} run(s) written '
              f'to {args.out}')
        return
    timed = 0
    for (name, path), records in logs.items():
        t = train_time(records, args.include_outliers)
        if t is None:
            print(f'{name}: no training iterations logged (a test run?)')
            continue
        timed += 1
        print(f'{name}: {t["mean"]:.4f} s/iter (std {t["std"]:.4f}, '
              f'{t["intervals"]} logging intervals); slowest at iteration '
              f'{t["slowest"][0]} ({t["slowest"][1]:.4f} s), fastest at '
              f'{t["fastest"][0]} ({t["fastest"][1]:.4f} s)')
    if not timed:
        raise ValueError('none of the logs has training iterations with a '
                         'time' + ('' if args.include_outliers else
                                   ' after the first logging interval'))


if __name__ == '__main__':
    main()
