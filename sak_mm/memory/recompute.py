# Copyright (c) sak_mm contributors. All rights reserved.
"""Single tensors rebuilt in backward instead of being kept for it.

:class:`RecomputeScope` is the mechanism; :func:`recompute_later`,
:func:`autocast_input` and :func:`recompute_outputs_of` register tensors
with it. Model code does not call any of this: :mod:`sak_mm.memory.policies`
applies it to a built model from outside (``SAKDistiller(save_memory=True)``).

PyTorch has no public API for some of what it needs, used here and nowhere
else: the saved-tensor hooks active around a scope (so that hooks pushed
outside it, e.g. a memory counter, see what it saves), a tensor's in-place
version counter (a registered tensor modified in place is never rebuilt
with other values), a view's base tensor and the name of a dtype cast's
autograd node (``ToCopyBackward0``).
"""
import functools
import threading
import weakref
from typing import Callable, List, Optional

import torch
import torch.nn as nn


def _keep(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


def _enclosing_saved_tensors_hooks():
    """The ``(pack, unpack)`` pair active outside a block, or None.

    Private PyTorch API, the one ``torch.utils.checkpoint`` uses to let
    user hooks see what it saves; without it, hooks pushed around a
    :class:`RecomputeScope` do not see what is saved inside.
    """
    top = getattr(torch._C._autograd, '_top_saved_tensors_default_hooks',
                  None)
    return None if top is None else top(False)


def _owns_storage(tensor: torch.Tensor) -> bool:
    """Contiguous over its whole storage: every tensor sharing that storage
    is then a view of this one."""
    return (tensor.is_contiguous() and tensor.storage_offset() == 0
            and tensor.untyped_storage().nbytes()
            == tensor.numel() * tensor.element_size())


def _view_geometry(tensor: torch.Tensor) -> tuple:
    """``as_strided`` arguments that rebuild ``tensor`` from its base."""
    return tuple(tensor.shape), tensor.stride(), tensor.storage_offset()


class _Entry:
    """A registered tensor (weakly held), how to rebuild it and its
    in-place version when registered."""

    def __init__(self, tensor, fn, inputs):
        device = tensor.device.type
        self.ref = weakref.ref(tensor)
        self.fn, self.inputs = fn, inputs
        self.autocast = dict(device_type=device,
                             enabled=torch.is_autocast_enabled(device),
                             dtype=torch.get_autocast_dtype(device))
        self.version = tensor._version
        self.node = tensor.grad_fn  # held: casts of the tensor name it
        self.saved = False

    def matches(self, saved: torch.Tensor) -> bool:
        """``saved`` is the registered tensor or a view of it, unmodified.
        A live registered tensor keeps its storage (which it owns whole),
        so an equal storage address means a view of it."""
        tensor = self.ref()
        return (tensor is not None and tensor._version == self.version
                and saved.dtype == tensor.dtype
                and saved.untyped_storage().data_ptr()
                == tensor.untyped_storage().data_ptr())

    def is_cast_source(self, node) -> bool:
        """A cast whose source has graph node ``node`` (see
        :func:`_cast_source`) is a cast of the registered tensor, made
        while it was unmodified."""
        tensor = self.ref()
        return (node is not None and node is self.node
                and tensor is not None and tensor._version == self.version)


def _cast_source(base: torch.Tensor):
    """The graph node of the tensor that ``base`` is a dtype cast of (an
    ``AccumulateGrad`` node for a cast of a leaf such as a parameter), or
    None when ``base`` is not such a cast owning its storage."""
    node = base.grad_fn
    if node is None or node.name() != 'ToCopyBackward0' \
            or not _owns_storage(base):
        return None
    return node.next_functions[0][0]


def _cast_like(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return tensor.detach().to(dtype)


class _Recipe:
    """What the autograd graph keeps in place of a tensor ``base`` saved as
    (a view) ``saved``: a function and its inputs (as the scope packed
    them: registered ones as their own recipes) that rebuild ``base`` under
    the given autocast state, followed by a cast to its dtype when ``base``
    is a cast of what ``fn`` returns."""

    def __init__(self, fn, inputs: tuple, autocast: dict,
                 base: torch.Tensor, saved: torch.Tensor, cast: bool):
        self.fn, self.inputs, self.autocast = fn, inputs, autocast
        self.shape, self.dtype = base.shape, base.dtype
        self.stride, self.cast = base.stride(), cast
        self.view = _view_geometry(saved)

    def _inputs(self, unpack) -> tuple:
        return tuple(unpack(t) for t in self.inputs)

    def rebuild(self, unpack) -> torch.Tensor:
        """``unpack``: how the scope unpacks what it packed."""
        with torch.autocast(**self.autocast):
            rebuilt = self.fn(*self._inputs(unpack))
        if self.cast:
            rebuilt = rebuilt.to(self.dtype)
        if (rebuilt.shape, rebuilt.dtype, rebuilt.stride()) != \
                (self.shape, self.dtype, self.stride) \
                or not _owns_storage(rebuilt):
            raise RuntimeError(
                f'recomputed tensor is {rebuilt.dtype} '
                f'{tuple(rebuilt.shape)} (strides {rebuilt.stride()}), the '
                f'registered one was {self.dtype} {tuple(self.shape)} '
                f'(strides {self.stride})')
        return rebuilt.as_strided(*self.view)


class _LeafCast(_Recipe):
    """A saved dtype cast of a leaf tensor (autocast's low-precision copy of
    a weight), made again in backward. The leaf is referenced, not packed:
    it lives anyway, and offloading hooks would copy a parameter. An
    in-place change of the leaf before backward raises."""

    def __init__(self, leaf: torch.Tensor, base, saved):
        super().__init__(functools.partial(_cast_like, dtype=base.dtype),
                         (leaf, ), dict(device_type=leaf.device.type,
                                        enabled=False), base, saved, False)
        self.version = leaf._version

    def _inputs(self, unpack) -> tuple:
        leaf, = self.inputs
        if leaf._version != self.version:
            raise RuntimeError(
                f'a {tuple(leaf.shape)} leaf tensor (a parameter?) was '
                f'modified in place between the forward pass and backward; '
                f'its {self.dtype} copy cannot be rebuilt')
        return self.inputs


class RecomputeScope:
    """Inside ``with RecomputeScope() as scope:``, a tensor registered with
    ``scope.register(tensor, fn, *inputs)`` is not kept by the ops that
    save it (or a view or a dtype cast of it) for backward: they keep
    ``fn`` and ``inputs`` and the backward pass rebuilds the tensor with
    ``fn(*inputs)`` (and the cast). Dtype casts of leaf tensors saved inside
    the scope, such as autocast's bf16 copies of the weights, are likewise
    made again from the leaf in backward rather than kept: about 0.7 GiB of
    copies for a ViT-L student, whatever the batch.

    This trades a cheap recomputation (an interpolation, an activation
    function, a LayerNorm, a cast) for the memory of a large activation,
    like activation checkpointing but for single tensors rebuilt from
    smaller or already saved inputs. ``fn`` runs under the autocast state
    of the registration and must rebuild exactly the same values
    (deterministic ops on the same inputs); a shape, dtype or layout
    mismatch raises. Only tensors that own their whole storage contiguously
    are registered (others are saved as usual), so a saved tensor on the
    same storage is a view of one and is rebuilt as that view; a cast is
    recognised by its autograd node, other copies are saved as usual.
    Registered tensors must not be modified in place afterwards: a
    modification before an op saves the tensor (or casts it) makes the op
    save it as usual, one after raises when the scope closes; a leaf
    modified in place before backward raises there. Saved-tensor hooks
    pushed inside the scope take precedence; those active around it see
    everything saved in it, the inputs in place of a registered tensor
    (and nothing for a leaf's cast). Without autograd, and under
    ``torch.compile`` (whose partitioner chooses what to recompute), the
    scope does nothing. :func:`recompute_outputs_of` registers a module's
    outputs with the innermost active scope.
    """

    _active = threading.local()

    def __init__(self):
        self._entries: List[_Entry] = []
        self._hooks = None

    @classmethod
    def current(cls) -> Optional['RecomputeScope']:
        """The innermost active scope, or None."""
        stack = getattr(cls._active, 'stack', None)
        return stack[-1] if stack else None

    def register(self, tensor: torch.Tensor, fn: Callable[..., torch.Tensor],
                 *inputs: torch.Tensor) -> None:
        if self._hooks is None or not _owns_storage(tensor):
            return
        self._entries = [e for e in self._entries if e.ref() is not None]
        self._entries.append(_Entry(tensor, fn, inputs))

    def _pack(self, saved: torch.Tensor):
        outer_pack = self._outer[0]
        base = saved if saved._base is None else saved._base
        source = _cast_source(base)
        leaf = getattr(source, 'variable', None)
        if leaf is not None and leaf.device == base.device:
            return _LeafCast(leaf, base, saved)
        for entry in reversed(self._entries):
            if entry.matches(saved):
                entry.saved = True
                registered, cast = entry.ref(), False
            elif entry.is_cast_source(source):
                registered, cast = base, True
            else:
                continue
            # (inputs registered themselves are kept as their recipes)
            inputs = tuple(self._pack(t) for t in entry.inputs)
            return _Recipe(entry.fn, inputs, entry.autocast, registered,
                           saved, cast)
        return outer_pack(saved)

    def _unpack(self, packed):
        if isinstance(packed, _Recipe):
            return packed.rebuild(self._unpack)
        return self._outer[1](packed)

    def __enter__(self) -> 'RecomputeScope':
        if torch.is_grad_enabled() and not torch.compiler.is_compiling():
            self._outer = (_enclosing_saved_tensors_hooks()
                           or (_keep, _keep))
            self._hooks = torch.autograd.graph.saved_tensors_hooks(
                self._pack, self._unpack)
            self._hooks.__enter__()
            if not hasattr(self._active, 'stack'):
                self._active.stack = []
            self._active.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        self.close(check=exc[0] is None)

    def close(self, check: bool = True) -> None:
        """Leave the scope; ``check``: raise if a registered tensor was
        modified in place after an op saved it (skipped while an exception
        is propagating)."""
        if self._hooks is None:
            return
        self._active.stack.pop()
        self._hooks.__exit__(None, None, None)
        self._hooks = None
        entries, self._entries = self._entries, []
        for entry in entries:
            tensor = entry.ref()
            if check and entry.saved and tensor is not None and \
                    tensor._version != entry.version:
                raise RuntimeError(
                    'a tensor registered for recomputation was modified in '
                    'place after an op saved it for backward; its '
                    'recomputed value would differ')


def recompute_later(tensor: torch.Tensor, fn: Callable[..., torch.Tensor],
                    *inputs: torch.Tensor) -> torch.Tensor:
    """Register ``tensor`` (rebuilt as ``fn(*inputs)``) with the innermost
    active :class:`RecomputeScope`, if there is one; returns ``tensor``."""
    scope = None if torch.compiler.is_compiling() else \
        RecomputeScope.current()
    if scope is not None:
        scope.register(tensor, fn, *inputs)
    return tensor


def autocast_input(x: torch.Tensor, rebuild: bool = False) -> torch.Tensor:
    """``x`` cast as autocast casts the input of a linear layer (``x``
    itself outside autocast), made explicitly so that several layers can
    share the copy, or, with ``rebuild``, so that the innermost
    :class:`RecomputeScope` casts it again from ``x`` in backward instead of
    keeping it (worth it where ``x`` is kept or rebuilt anyway; a
    non-contiguous copy is kept as usual)."""
    device = x.device.type
    if not torch.is_autocast_enabled(device) or not x.is_floating_point() \
            or x.dtype == torch.float64:
        return x
    dtype = torch.get_autocast_dtype(device)
    copy = x.to(dtype)
    return recompute_later(copy, functools.partial(_cast_like, dtype=dtype),
                           x) if rebuild else copy


def _register_output(module: nn.Module, args: tuple, output) -> None:
    if isinstance(output, torch.Tensor):
        recompute_later(output, module.forward, *args)


def recompute_outputs_of(module: nn.Module) -> None:
    """Register ``module``'s output, at every call, with the innermost
    active :class:`RecomputeScope` (rebuilt by calling its ``forward`` on
    the same inputs); for cheap, deterministic modules such as an
    activation function whose output only feeds a linear layer."""
    module.register_forward_hook(_register_output)


def scope_around(module: nn.Module,
                 when: Optional[Callable[[tuple], bool]] = None) -> None:
    """Run every call of ``module`` inside its own :class:`RecomputeScope`
    (forward hooks; the scope also closes when the forward raises).

    Args:
        module: The module.
        when: Called with each call's positional arguments; False runs that
            call without a scope (e.g. while the module is checkpointed).
    """
    scopes: List[Optional[RecomputeScope]] = []

    def enter(module, args):
        if torch.compiler.is_compiling():
            return
        scope = RecomputeScope() if when is None or when(args) else None
        scopes.append(scope.__enter__() if scope is not None else None)

    def leave(module, args, output):
        if torch.compiler.is_compiling():
            return
        scope = scopes.pop()
        if scope is not None:
            scope.close(check=output is not None)  # None: forward raised

    module.register_forward_pre_hook(enter)
    module.register_forward_hook(leave, always_call=True)
