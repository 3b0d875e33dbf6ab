# Copyright (c) sak_mm contributors. All rights reserved.
"""When the Triton kernels run, how their failures read, and the numeric
conventions they share."""
import contextlib
import os
import traceback

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs without triton: reference path only
    triton = None
    tl = None

HAS_TRITON = triton is not None

#: dtype codes the kernels take as constexprs (0 = no rounding)
DTYPE_CODE = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2}

if HAS_TRITON:

    @triton.jit
    def round_to(x, CODE: tl.constexpr):
        """fp32 values rounded to the dtype of ``CODE`` (see
        ``DTYPE_CODE``), staying fp32: what an eager op computing in that
        dtype would have produced."""
        y = x
        if CODE == 1:
            y = x.to(tl.bfloat16).to(tl.float32)
        elif CODE == 2:
            y = x.to(tl.float16).to(tl.float32)
        return y


def interpreting() -> bool:
    """Triton's CPU interpreter is on (``TRITON_INTERPRET=1``)."""
    return os.environ.get('TRITON_INTERPRET', '0') == '1'


def triton_usable(*tensors: torch.Tensor) -> bool:
    """True if the kernels can take these tensors: all on a CUDA device, or
    all on the CPU with the interpreter on (tests)."""
    if not HAS_TRITON:
        return False
    if interpreting():
        return all(t.device.type == 'cpu' for t in tensors)
    return all(t.is_cuda for t in tensors)


def matmul_dtype(x: torch.Tensor, *weights: torch.Tensor) -> torch.dtype:
    """The dtype eager PyTorch would multiply in: the autocast dtype inside
    an autocast region, else the promoted dtype of the operands."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    dtype = x.dtype
    for w in weights:
        dtype = torch.promote_types(dtype, w.dtype)
    return dtype


def check_float(name: str, t: torch.Tensor) -> None:
    if t.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise TypeError(f'{name} must be float32, bfloat16 or float16, got '
                        f'{t.dtype}')


#: how to train without the speed layer, for every message that concerns it
SWITCH_OFF = ("switch the speed layer off: remove 'fused_kernels = True' "
              "(or configs/_base_/speed/fused.py) from the config, or pass "
              "--cfg-options fused_kernels=False")


class FusedKernelError(RuntimeError):
    """A fused kernel of the speed layer failed to compile or launch."""


def raised_by_triton(error: BaseException) -> bool:
    """The error is Triton's: of a Triton class, or raised in Triton's code
    (it raises plain RuntimeErrors too, e.g. without a driver or a C
    compiler)."""
    if type(error).__module__.split('.')[0] == 'triton':
        return True
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and \
        f'{os.sep}triton{os.sep}' in frames[-1].filename


@contextlib.contextmanager
def kernel_errors_named(kernel: str, device: torch.device):
    """Re-raise an error that Triton raises while compiling or launching
    ``kernel`` as a :class:`FusedKernelError` that names the kernel, the
    device and the switch that turns the kernels off, instead of a Triton
    stack trace; other errors (e.g. out of memory) pass unchanged."""
    try:
        yield
    except Exception as error:
        if isinstance(error, FusedKernelError) or \
                not raised_by_triton(error):
            raise
        raise FusedKernelError(
            f'the fused kernel {kernel} failed on {device} '
            f'({type(error).__name__}: {str(error)[:500]}); '
            f'{SWITCH_OFF}') from error
