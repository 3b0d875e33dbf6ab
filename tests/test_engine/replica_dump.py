# Copyright (c) sak_mm contributors. All rights reserved.
"""Test hook: every rank writes its model's state at the end of training
(``replica_<rank>.pth`` in the work dir), to compare the replicas."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS


@HOOKS.register_module()
class ReplicaDumpHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(model.state_dict(),
                   osp.join(runner.work_dir, f'replica_{get_rank()}.pth'))
