# Copyright (c) sak_mm contributors. All rights reserved.
"""What a notebook user calls: build a trained student, run it on images."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from sak_mm.registry import MODELS
from sak_mm.structures import MultiTaskDataSample
from sak_mm.utils import (check_weight_files, load_checkpoint_file,
                          load_config, set_build_teachers)
from sak_mm.utils.state_dict_mismatch import load_state_dict_checked

ImageType = Union[str, np.ndarray]


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               with_teachers: bool = False) -> torch.nn.Module:
    """Build the student of a config and load a checkpoint strictly.

    Args:
        config: Config file path or :class:`Config`.
        checkpoint: Trained checkpoint; None keeps the initial weights.
        device: Where to put the model.
        cfg_options: Overrides merged into the config.
        with_teachers: Also build and load the teachers (analysis tools
            that compare student and teachers); by default they are left
            out, as inference does not need them.

    Returns:
        The model in eval mode, with the config as ``model.cfg``.
    """
    cfg = load_config(config, cfg_options)
    set_build_teachers(cfg.model, with_teachers)
    check_weight_files(cfg, training=False)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state = load_checkpoint_file(checkpoint)
        load_state_dict_checked(model, state.get('state_dict', state),
                                checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


def _inference_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline without label loading (and without file
    loading for in-memory images)."""
    skip = {'LoadDenseAnnotations'} | ({'LoadImage'} if from_array else set())
    steps = [t for t in cfg.test_dataloader.dataset.pipeline
             if t['type'] not in skip]
    return Compose(steps)


@torch.no_grad()
def inference_model(model: torch.nn.Module, images: Union[ImageType,
                                                          Sequence[ImageType]]
                    ) -> Union[MultiTaskDataSample, List[MultiTaskDataSample]]:
    """Predict every task for one image or a list of images.

    Args:
        model: From :func:`init_model`.
        images: File paths or ``(H, W, 3)`` RGB ``uint8`` arrays.

    Returns:
        One :class:`MultiTaskDataSample` per image, with ``pred.<task>`` at the
        image's size (and ``gate_scores`` for MoR models).
    """
    single = isinstance(images, (str, np.ndarray))
    batch = [images] if single else list(images)
    samples = []
    for img in batch:
        if isinstance(img, np.ndarray):
            results = dict(img=img, img_shape=img.shape[:2],
                           ori_shape=img.shape[:2])
            samples.append(_inference_pipeline(model.cfg, True)(results))
        else:
            samples.append(
                _inference_pipeline(model.cfg, False)(dict(img_path=img)))
    outputs = model.test_step(pseudo_collate(samples))
    return outputs[0] if single else outputs
