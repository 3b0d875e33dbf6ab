# Copyright (c) sak_mm contributors. All rights reserved.
"""Memory saving applied to a built model from outside its code: tensors
rebuilt in backward instead of kept (:mod:`.recompute`), loss gradients
formed in the forward pass (:mod:`.early_grad`), and which module type gets
what (:mod:`.policies`). ``SAKDistiller(save_memory=True)`` (the default)
calls :func:`apply_memory_saving`."""
from .early_grad import early_loss_gradient
from .policies import apply_memory_saving, policy_of
from .recompute import (RecomputeScope, autocast_input, recompute_later,
                        recompute_outputs_of, scope_around)

__all__ = [
    'apply_memory_saving', 'policy_of', 'early_loss_gradient',
    'RecomputeScope', 'autocast_input', 'recompute_later',
    'recompute_outputs_of', 'scope_around'
]
