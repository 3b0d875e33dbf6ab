# Copyright (c) sak_mm contributors. All rights reserved.
"""Figures of the analysis tools (matplotlib, drawn off-screen)."""
from typing import List, Sequence

import numpy as np


def off_screen_figure(**kwargs):
    """A stand-alone matplotlib Figure (Agg canvas, no pyplot state): the
    caller's backend and open figures are left alone."""
    from matplotlib.figure import Figure
    return Figure(**kwargs)


def heat_map(ax, values, rows, cols, title: str, fontsize: int = 7,
             **imshow_kwargs):
    """``values`` (``rows x cols`` in ``[0, 1]``, NaN: an empty cell) as a
    'Blues' heat map with each value printed in its cell, the rows and
    columns labelled; returns the image (for a colour bar)."""
    values = np.asarray(values, dtype=float)
    image = ax.imshow(values, vmin=0, vmax=1, cmap='Blues', **imshow_kwargs)
    for r, c in np.ndindex(values.shape):
        if not np.isnan(values[r, c]):
            ax.text(c, r, f'{values[r, c]:.2f}', ha='center', va='center',
                    fontsize=fontsize,
                    color='white' if values[r, c] > 0.6 else 'black')
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, fontsize=fontsize)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=fontsize)
    ax.set_title(title, fontsize=fontsize + 2)
    return image


def _source(summary: dict) -> str:
    """', <what the statistics came from>' when the summary says it."""
    return f', {summary["source"]}' if summary.get('source') else ''


def _colour_bar(fig, image, axes, label: str) -> None:
    """A colour bar for ``image`` beside ``axes``."""
    bar = fig.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label(label, fontsize=7)
    bar.ax.tick_params(labelsize=6)


def router_labels(summary: dict):
    """``(expert names, level names)`` of a MoR gate summary: the rows and
    columns of its heat maps (``TAS``, the teachers; ``block <k>``)."""
    return ([e.upper() if e == 'tas' else e for e in summary['experts']],
            [f'block {b}' for b in summary['levels']])


def plot_router_weights(summary: dict, out_file: str):
    """Paper Fig. 4: per task, an experts x levels heat map of the mean gate
    scores with the values printed in the cells, a colour bar, and what
    the scores were measured on (split, checkpoint) in the title. Returns
    the Figure."""
    tasks = list(summary['tasks'])
    experts, levels = summary['experts'], summary['levels']
    fig = off_screen_figure(
        figsize=(1.2 + len(tasks) * (1.0 + 0.6 * len(levels)),
                 1.2 + 0.5 * len(experts)),
        layout='constrained')
    axes = fig.subplots(1, len(tasks), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        image = heat_map(ax, summary['tasks'][task]['mean'],
                         *router_labels(summary), task)
    _colour_bar(fig, image, axes[0].tolist(), 'mean gate score')
    fig.suptitle(f'MoR gate scores (mean over {summary["num_images"]} '
                 f'images{_source(summary)})', fontsize=9)
    fig.savefig(out_file, dpi=150)
    return fig


def plot_expert_usage(summary: dict, out_file: str):
    """Two routers x experts heat maps: how often each expert is chosen
    (share of tokens) and its mean gate, values printed in the cells, a
    shared colour bar, and what was measured in the title. Returns the
    Figure."""
    names = list(summary['routers'])
    num = max(len(s['selected']) for s in summary['routers'].values())
    fig = off_screen_figure(
        figsize=(2.5 + 2 * 0.55 * num, 1.2 + 0.45 * len(names)),
        layout='constrained')
    axes = fig.subplots(1, 2, squeeze=False)[0]
    for ax, key, title in ((axes[0], 'selected', 'share of tokens choosing'),
                           (axes[1], 'mean_gate', 'mean gate')):
        grid = np.full((len(names), num), np.nan)
        for r, name in enumerate(names):
            values = summary['routers'][name][key]
            grid[r, :len(values)] = values
        image = heat_map(ax, grid, names, [f'e{e}' for e in range(num)],
                         title)
    _colour_bar(fig, image, axes.tolist(), 'share / gate')
    fig.suptitle(f'expert routing{_source(summary)}', fontsize=9)
    fig.savefig(out_file, dpi=150)
    return fig


def expert_usage_table(summary: dict) -> str:
    """Per router and expert: share of tokens choosing it, mean gate."""
    rows = []
    for name, stats in summary['routers'].items():
        for e, (sel, gate) in enumerate(
                zip(stats['selected'], stats['mean_gate'])):
            rows.append((name, f'e{e}', f'{sel:.3f}', f'{gate:.3f}'))
    return format_table(['router', 'expert', 'selected', 'mean gate'], rows)


def plot_teacher_bias(study: dict, out_file: str) -> None:
    """Paper Fig. 1 (left): relative improvement of each model over the
    baseline per task, grouped bars, with mu, sigma and mu/sigma in the
    legend."""
    models: List[str] = list(study['models'])
    tasks: Sequence[str] = study['tasks']
    width = 0.8 / len(models)
    fig = off_screen_figure(figsize=(1.5 + 1.1 * len(tasks), 3.2))
    ax = fig.subplots()
    for i, name in enumerate(models):
        entry = study['models'][name]
        gains = [entry['improvement'][t] for t in tasks]
        ax.bar(np.arange(len(tasks)) + (i - (len(models) - 1) / 2) * width,
               gains, width,
               label=f'{name} (mu={entry["mu"]:.2f}, sigma='
               f'{entry["sigma"]:.2f}, mu/sigma={entry["mu_over_sigma"]:.2f})')
    ax.axhline(0, color='black', linewidth=0.8)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks, fontsize=8)
    ax.set_ylabel('relative improvement (%)')
    ax.set_title(f'improvement over {study["baseline"]}', fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=150)


def format_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain-text table for the terminal."""
    cells = [[str(c) for c in header]] + [[
        f'{c:.4f}' if isinstance(c, float) else str(c) for c in row
    ] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def router_table(summary: dict) -> str:
    """Mean (std) gate score per task, level and expert."""
    rows = []
    for task, stats in summary['tasks'].items():
        for k, level in enumerate(summary['levels']):
            rows.append([task, f'block {level}'] + [
                f'{stats["mean"][e][k]:.3f} ({stats["std"][e][k]:.3f})'
                for e in range(len(summary['experts']))
            ])
    return format_table(['task', 'level'] + list(summary['experts']), rows)


def teacher_bias_table(study: dict) -> str:
    rows = []
    for name, entry in study['models'].items():
        rows.append([name] + [entry['improvement'][t] for t in study['tasks']]
                    + [entry['mu'], entry['sigma'], entry['mu_over_sigma']])
    return format_table(['model'] + list(study['tasks']) +
                        ['mu', 'sigma', 'mu/sigma'], rows)


