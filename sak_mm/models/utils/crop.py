# Copyright (c) sak_mm contributors. All rights reserved.
"""The training crop, given once to a model, reaching the parts built for
an input size."""
import inspect
from typing import Sequence

from sak_mm.registry import MODELS


def with_crop(cfg: dict, crop_size: Sequence[int]) -> dict:
    """``cfg`` with ``img_size=crop_size`` where its class is built for the
    training crop and ``cfg`` does not set one.

    A class decides by a classmethod ``with_crop(cfg, crop_size)`` (a
    backbone passes the crop to a part, e.g. :class:`TASBackbone` to its
    stem; SAM keeps its own canvas size); any other class that takes an
    ``img_size`` argument gets the crop.
    """
    cls = MODELS.get(cfg['type'])
    if cls is None:
        raise KeyError(f'{cfg["type"]!r} is not a registered model')
    if hasattr(cls, 'with_crop'):
        return cls.with_crop(cfg, crop_size)
    if 'img_size' in inspect.signature(cls).parameters:
        return dict(cfg, img_size=cfg.get('img_size', tuple(crop_size)))
    return cfg
