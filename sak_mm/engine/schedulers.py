# Copyright (c) sak_mm contributors. All rights reserved.
"""The SAK reference's stage-1 learning-rate curve as an mmengine
scheduler."""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from sak_mm.registry import PARAM_SCHEDULERS


class WarmupCosineParamScheduler(_ParamScheduler):
    """Linear warm-up, then cosine annealing, in closed form: timm's
    ``CosineLRScheduler(warmup_prefix=True)`` stepped as the SAK reference
    steps it (``train_s1.py``: ``scheduler.step(i)`` after iteration ``i``).

    .. code:: text

        f(t) = s + (v0 - s) t / W                              t < W
        f(t) = m + (v0 - m) (1 + cos(pi (t - W) / T)) / 2      W <= t < W + T
        step i runs at f(max(i - 1, 0))    (T = end - begin - W)

    The lag of one step is the reference's: its scheduler sets, after step
    ``i``, the value of ``f(i)`` for step ``i + 1``. Configs give ``warmup``,
    ``begin`` and ``end`` in epochs with ``convert_to_iter_based=True`` (the
    reference steps every iteration).

    Args:
        optimizer: Wrapped optimizer.
        param_name (str): The parameter, e.g. ``'lr'``.
        warmup (int): ``W``, warm-up steps.
        warmup_start (float): ``s``, the value warm-up starts from.
        eta_min (float): ``m``, the value cosine annealing ends at.
        begin, end (int): The steps the schedule spans (``end`` is needed).
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 warmup: int,
                 warmup_start: float,
                 eta_min: float,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        if end == INF or not 0 < warmup < end - begin:
            raise ValueError(f'WarmupCosine needs 0 < warmup < end - begin, '
                             f'got warmup={warmup}, begin={begin}, '
                             f'end={end}')
        self.warmup, self.warmup_start, self.eta_min = \
            warmup, warmup_start, eta_min
        self.t_cosine = end - begin - warmup
        super().__init__(optimizer, param_name, begin, end, last_step,
                         by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              warmup: int,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: int = None,
                              **kwargs):
        """The iteration-based instance of an epoch-based config."""
        if not by_epoch or not epoch_length:
            raise ValueError('convert_to_iter_based needs by_epoch=True and '
                             'the epoch length')
        return cls(*args, warmup=warmup * epoch_length,
                   begin=int(begin * epoch_length),
                   end=int(end * epoch_length), by_epoch=False, **kwargs)

    def _value(self, base: float, t: int) -> float:
        if t < self.warmup:
            return self.warmup_start + (base -
                                        self.warmup_start) * t / self.warmup
        cos = math.cos(math.pi * (t - self.warmup) / self.t_cosine)
        return self.eta_min + 0.5 * (base - self.eta_min) * (1 + cos)

    def _get_value(self) -> list:
        t = max(self.last_step - 1, 0)
        return [self._value(base, t) for base in self.base_values]


@PARAM_SCHEDULERS.register_module()
class WarmupCosineLR(LRSchedulerMixin, WarmupCosineParamScheduler):
    """:class:`WarmupCosineParamScheduler` of the learning rate."""
