# Copyright (c) sak_mm contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sak_mm.models.utils import parameter_table
from sak_mm.registry import HOOKS


@HOOKS.register_module()
class ParameterReportHook(Hook):
    """Logs the model's trainable and frozen parameters per component
    (:func:`~sak_mm.models.utils.parameter_table`) when training starts.

    Args:
        depth (int): How many module levels the table splits into.
    """

    priority = 'VERY_LOW'

    def __init__(self, depth: int = 2):
        self.depth = depth

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        print_log('parameters per component:\n' +
                  parameter_table(model, self.depth), logger='current')
