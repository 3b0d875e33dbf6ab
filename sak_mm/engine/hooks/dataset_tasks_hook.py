# Copyright (c) sak_mm contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sak_mm.registry import HOOKS


@HOOKS.register_module()
class DatasetTasksHook(Hook):
    """Refuses to train a model whose decoder has tasks the training set
    does not provide: their labels would be missing from every batch (a
    loss over no pixel is NaN or zero, silently)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = runner.train_dataloader.dataset
        provided = getattr(dataset, 'tasks', None)
        wanted = list(getattr(model, 'tasks', []))
        if provided is None or not wanted:
            return
        missing = [t for t in wanted if t not in provided]
        if missing:
            raise ValueError(
                f'the model decodes {wanted} but the training set '
                f'({type(dataset).__name__}) provides {list(provided)}: no '
                f'labels for {missing}; set the dataset\'s tasks or drop '
                f'those heads')
