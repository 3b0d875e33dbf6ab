# Copyright (c) sak_mm contributors. All rights reserved.
"""A fused kernel made to fail at launch, as Triton fails on a GPU it
cannot compile for (a helper module, not tests: two test modules use it)."""


class FailingLaunch:
    """Stands in for a Triton kernel: launching it raises ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            raise self.error

        return launch


def fail_adapter_kernel(monkeypatch, error: Exception = None) -> Exception:
    """Make the fused adapter kernel raise ``error`` when launched (by
    default Triton's own ``OutOfResources``: too little shared memory, as
    on a smaller GPU); returns the error."""
    from triton.runtime.errors import OutOfResources

    from sak_mm.ops import adapter
    if error is None:
        error = OutOfResources(232448, 101376, 'shared memory')
    monkeypatch.setattr(adapter, '_adapter_fwd_kernel', FailingLaunch(error))
    return error
