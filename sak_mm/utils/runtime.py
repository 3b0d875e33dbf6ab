# Copyright (c) sak_mm contributors. All rights reserved.
"""Config switches the tools apply before building a Runner."""
from typing import Optional, Union

from mmengine.config import Config

AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A config (file path or :class:`Config`) with its ``--cfg-options``
    overrides merged, the speed layer applied if it is switched on
    (:func:`sak_mm.ops.apply_speed_layer`), its ``tasks`` passed on
    (:func:`apply_task_switch`) and the default registry scope set from it
    (``sak_mm`` unless it says otherwise)."""
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_task_switch(apply_speed_switch(cfg))
    init_default_scope(cfg.get('default_scope', 'sak_mm'))
    return cfg


def apply_speed_switch(cfg: Config) -> Config:
    """:func:`sak_mm.ops.apply_speed_layer` when the config sets
    ``fused_kernels`` (Triton is imported only then)."""
    if cfg.get('fused_kernels', False) is not False:
        from sak_mm.ops import apply_speed_layer
        apply_speed_layer(cfg)
    return cfg


def _takes_tasks(dataset: dict) -> bool:
    """Whether the dataset class has annotations per task (an image folder
    has none)."""
    import inspect

    from sak_mm.registry import DATASETS
    cls = DATASETS.get(dataset.get('type'))
    return cls is not None and 'tasks' in inspect.signature(cls).parameters


def apply_task_switch(cfg: Config) -> Config:
    """Pass the config's top-level ``tasks`` (said once, by the dataset
    base or a single-task config) to the model (``model.tasks``: the heads
    it decodes) and to every data loader's dataset (the annotations it
    loads, and so the tasks the evaluator scores). A model or dataset that
    names other tasks itself is a contradiction, refused."""
    tasks = cfg.get('tasks')
    if tasks is None:
        return cfg
    tasks = list(tasks)
    targets = []
    model = cfg.get('model')
    if model is not None and (model.get('heads') or model.get('decoder')):
        targets.append(('model', model))
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        dataset = None if loader is None else loader.get('dataset')
        if dataset is not None and _takes_tasks(dataset):
            targets.append((f'{split}_dataloader.dataset', dataset))
    for name, part in targets:
        own = part.get('tasks')
        if own is not None and list(own) != tasks:
            raise ValueError(f'{name}.tasks={list(own)} contradicts the '
                             f'config\'s tasks={tasks}: set tasks once, at '
                             f'the top level')
        part.tasks = tasks
    return cfg


def leave_process_group() -> None:
    """End a distributed run's process group, if there is one: wait until
    every rank is done (a barrier), then destroy the group, so that no
    rank tears its connections down while another still uses them and its
    threads are joined before the interpreter exits. (A finished
    2-process CPU run aborted at its end twice here, rank 0 with 'terminate
    called without an active exception', exit code -6, while rank 1 was
    still running; this is the suspected cause, not a proven one.)"""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def apply_runtime_switches(cfg: Config) -> Config:
    """Honour the ``tensorboard`` switch of ``default_runtime.py``: add
    mmengine's TensorBoard backend to the visualizer (needs the optional
    ``tensorboard`` package, see requirements/optional.txt)."""
    if cfg.get('tensorboard', False):
        backends = list(cfg.visualizer.get('vis_backends') or [])
        if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
            backends.append(dict(type='TensorboardVisBackend'))
        cfg.visualizer.vis_backends = backends
    return cfg


def set_precision(cfg: Config, precision: str) -> Config:
    """Switch the config's optim wrapper to mixed precision (``'bf16'``
    without loss scaling, ``'fp16'`` with dynamic loss scaling: mmengine's
    ``AmpOptimWrapper``) or to full fp32
    (``'fp32'``: plain ``OptimWrapper``, dropping the AMP-only keys).
    ``'auto'`` is bf16 where the GPU supports it, else fp16."""
    if precision == 'auto':
        import torch
        precision = 'bf16' if torch.cuda.is_available() and \
            torch.cuda.is_bf16_supported() else 'fp16'
    if precision not in ('fp32', *AMP_DTYPES):
        raise ValueError(f"precision must be 'bf16', 'fp16', 'fp32' or "
                         f"'auto', got {precision!r}")
    wrapper = cfg.optim_wrapper
    if precision == 'fp32':
        wrapper.type = 'OptimWrapper'
        for key in ('dtype', 'loss_scale'):
            wrapper.pop(key, None)
    else:
        wrapper.type = 'AmpOptimWrapper'
        wrapper.dtype = AMP_DTYPES[precision]
        # bf16 has fp32's exponent range: no loss scaling (that would only
        # add a pass over every gradient and a sync per step)
        wrapper.loss_scale = dict(enabled=False) if precision == 'bf16' \
            else 'dynamic'
    return cfg
