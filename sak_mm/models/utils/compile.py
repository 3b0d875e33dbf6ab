# Copyright (c) sak_mm contributors. All rights reserved.
"""Making library modules traceable by ``torch.compile`` as whole graphs."""
import numpy as np
import torch.nn as nn


def plain_drop_probs(module: nn.Module) -> None:
    """Turn the numpy ``drop_prob`` of every DropPath in ``module`` into a
    Python float.

    mmpretrain's ViTs give each block's DropPath a value of
    ``np.linspace``. Dynamo traces numpy scalars as tensors, so mmcv's
    ``if drop_prob == 0. or not training`` becomes a data-dependent branch
    in every block's attention and MLP, where ``torch.compile`` breaks the
    graph. A float is a constant to it (the value is the same).
    """
    for m in module.modules():
        prob = getattr(m, 'drop_prob', None)
        if isinstance(prob, np.generic):
            m.drop_prob = prob.item()
