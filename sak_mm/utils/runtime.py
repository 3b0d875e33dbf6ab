# Copyright (c) sak_mm contributors. All rights reserved.
"""Config switches the tools apply before building a Runner."""
from mmengine.config import Config


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
