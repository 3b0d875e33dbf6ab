# Copyright (c) sak_mm contributors. All rights reserved.
"""Pre-emption: SIGTERM and SIGINT stop training at an iteration boundary.

A scheduler that pre-empts a job (Slurm, Kubernetes) sends SIGTERM and,
after a grace period, SIGKILL; Ctrl-C sends SIGINT. While
:meth:`SAKRunner.train <sak_mm.engine.SAKRunner.train>` runs, such a
signal is only recorded (:class:`StopSignals`); ``SafeCheckpointHook``
then saves a checkpoint at the end of the iteration in progress and ends
the process with status ``128 + signal`` (143 for SIGTERM, 130 for
SIGINT), so a scheduler sees a failure and requeues; ``--resume``
continues from that checkpoint. A second SIGINT acts as it did before
(Ctrl-C twice stops at once); a second SIGTERM changes nothing (Slurm
signals every process of the job and ``torchrun`` forwards the signal it
got, so each rank commonly receives two).

Slurm and Ctrl-C signal every process of the job, data loader workers
included. The data loader workers (:class:`IgnoreStopSignals`) and the
boundary metric's matching processes (:func:`ignore_stop_signals`) ignore
them while their main process trains (:func:`training_event`), so the
signal does not surface as "DataLoader worker ... killed by signal" before
the checkpoint is saved. Otherwise they end on it with status 0: that is how
multiprocessing's exit handler stops the workers still alive when the main
process ends (a persistent loader's, the training loader's), and a worker
killed by the signal made torch's SIGCHLD handler print "Exception ignored
in atexit callback ... DataLoader worker ... killed by signal: Terminated"
after a run that succeeded. A worker that ends while its loader or pool
still waits on it is reported there as before ("exited unexpectedly", a
broken pool).
"""
import multiprocessing
import os
import signal
import threading
from typing import Callable, Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size

#: the signals that stop training at the next iteration boundary
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_TRAINING = None


def training_event():
    """A ``multiprocessing.Event`` set while this process trains (inside
    :class:`StopSignals`); worker processes read it."""
    global _TRAINING
    if _TRAINING is None:
        _TRAINING = multiprocessing.Event()
    return _TRAINING


class StopSignals:
    """Context manager that records the first SIGTERM or SIGINT instead of
    ending the process, and restores the previous handlers when it exits or
    at the first SIGINT (so a second one acts as before).

    Signal handlers can only be set in the main thread; elsewhere (a
    ``runner.train()`` called from a thread) it records nothing.

    Attributes:
        received (int, optional): The first signal received, if any.
    """

    def __init__(self):
        self.received: Optional[int] = None
        self._previous: Dict[int, object] = {}

    def __enter__(self) -> 'StopSignals':
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._record)
            training_event().set()
        return self

    def __exit__(self, *exc) -> None:
        self._restore()
        training_event().clear()

    def _record(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        if signum == signal.SIGINT:
            self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum,
                          signal.SIG_DFL if handler is None else handler)
        self._previous = {}


def stop_requested(runner) -> Optional[int]:
    """The stop signal recorded by ``runner.stop_signals`` in this process
    or, in distributed training, in any process (one all-reduce, so that
    every rank stops at the same iteration); None when there is none."""
    signals = getattr(runner, 'stop_signals', None)
    received = signals.received if signals is not None else None
    if get_world_size() == 1:
        return received
    flag = torch.tensor([received or 0])
    all_reduce(flag, op='max')
    return int(flag.item()) or None


def ignore_stop_signals(training) -> None:
    """Make this worker process ignore SIGTERM and SIGINT while ``training``
    (:func:`training_event` of its main process) is set, and end on them
    with status 0 otherwise (see the module's notes)."""

    def handler(signum, frame):
        if not training.is_set():
            os._exit(0)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


class IgnoreStopSignals:
    """A data loader ``worker_init_fn`` that makes the worker ignore SIGTERM
    and SIGINT while its main process trains (:func:`ignore_stop_signals`),
    then calls ``init_fn`` (mmengine's seeding)."""

    def __init__(self, init_fn: Optional[Callable] = None):
        self.init_fn = init_fn
        self.training = training_event()

    def __call__(self, worker_id: int) -> None:
        ignore_stop_signals(self.training)
        if self.init_fn is not None:
            self.init_fn(worker_id)
