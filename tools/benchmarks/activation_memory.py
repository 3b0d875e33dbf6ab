# Copyright (c) sak_mm contributors. All rights reserved.
"""Where a training step's memory goes, counted on any device (a CPU is
enough): what the loss forward leaves alive for the backward pass, per
component, and the step's static memory (parameters, gradients, AdamW
states, teacher weights).

    python tools/benchmarks/activation_memory.py configs/sak/sak_vitl_nyud.py --batch 1
    python tools/benchmarks/activation_memory.py configs/sak/sak_vitl_nyud.py --cfg-options model.backbone.with_cp=True

Every storage an op creates during one loss forward is noted (weakly) with
the module whose forward created it; those still alive once the forward
has returned (and autocast's cast cache is gone) are what the backward pass
holds: the tensors autograd saves, the inputs of checkpointed regions and
the outputs that selective activation checkpointing keeps, each storage
once (views and tensors saved twice count once). Parameters are static
memory, not activations. Storages computed from parameters alone
(autocast's bf16 weight copies, stacked adapter weights) are listed apart:
they do not grow with the batch, so the batch-N estimate counts them once.
Teachers run without autograd; their outputs count where they are kept
(under "losses and glue"). On the CPU the fused kernels run only with
``TRITON_INTERPRET=1`` (slow at ViT-L sizes: minutes); without it the
fused variants compute with the eager references and count as eager.
The peak of a real GPU step adds the largest transient buffers and the
allocator's fragmentation on top of these numbers.

Counting needs sizes, not values: on a CPU without native bf16 (well under
1 GFLOP/s for a bf16 GEMM or convolution, against ~70 in fp32) the count
runs the matrix products and convolutions that have bf16 or fp16 operands
in fp32 and casts each result back, which gives it the dtype, shape and
layout the op gives, so autograd and checkpointing keep the same tensors
(tested equal to ``--exact``, which runs every op as it is).
"""
import argparse
import collections
import gc
import weakref

import torch
from mmengine.config import DictAction
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

# (module name prefix, label); the backbone's own label covers what its
# forward creates outside submodules: the fused adapter kernels' tensors
COMPONENTS = (('backbone.stem.layers', 'stem blocks'),
              ('backbone.stem', 'stem embedding'),
              ('backbone.adapters', 'adapters (eager)'),
              ('backbone.out_norms', 'TSAP norms'),
              ('backbone.aligners', 'aligners'),
              ('backbone', 'backbone: fused adapters, checkpoint inputs'),
              ('neck', 'MoR neck'), ('heads', 'heads'))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--estimate-batch', type=int, default=8,
                        help='also print the memory this count predicts '
                        'at this batch size')
    parser.add_argument('--amp', choices=['bf16', 'fp32'], default='bf16')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--exact', action='store_true',
                        help='run low-precision GEMMs and convolutions as '
                        'they are, not in fp32 (slow on CPUs without bf16)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def component(name: str) -> str:
    if name.split('.')[-1] in ('loss_fn', 'distill_loss'):
        return 'losses and glue'
    for prefix, label in COMPONENTS:
        if name == prefix or name.startswith(prefix + '.'):
            return label
    return 'losses and glue'  # losses, teacher outputs, reshapes


WEIGHT_COPIES = 'weight copies (once per step)'


def _storage(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


#: ops whose bf16 / fp16 CPU kernels are slow; run in fp32 when counting
#: (under inference_mode, as the teachers run, linear and matmul arrive
#: undecomposed)
_PRODUCTS = {
    getattr(torch.ops.aten, name).default
    for name in ('mm', 'addmm', 'bmm', 'baddbmm', 'linear', 'matmul',
                 'convolution', 'conv2d')
}
_LOW = (torch.bfloat16, torch.float16)


def run_op(func, args, kwargs, exact: bool):
    """``func(*args, **kwargs)``; unless ``exact``, a low-precision product
    on the CPU is computed in fp32 and cast back (the same dtype, shape and
    layout, other values)."""
    if exact or func not in _PRODUCTS:
        return func(*args, **kwargs)
    tensors = [t for t in tree_leaves((args, kwargs))
               if isinstance(t, torch.Tensor)]
    low = [t.dtype for t in tensors if t.dtype in _LOW]
    if not low or any(t.device.type != 'cpu' for t in tensors):
        return func(*args, **kwargs)
    up_args, up_kwargs = tree_map(
        lambda t: t.float() if isinstance(t, torch.Tensor) else t,
        (args, kwargs))
    return func(*up_args, **up_kwargs).to(low[0])


class Created(TorchDispatchMode):
    """Notes every storage an op creates: a weak reference, its size and
    the component whose forward is running, or :data:`WEIGHT_COPIES` when
    it is computed from parameters alone (casts, stacks, transposes of
    weights: an op's outputs are derived exactly when all its tensor inputs
    are, so a freed address reused by an activation is unmarked again)."""

    def __init__(self, parameter_storages: set, label, exact: bool = True):
        super().__init__()
        self.derived = set(parameter_storages)
        self.label = label
        self.exact = exact
        self.created = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = run_op(func, args, kwargs or {}, self.exact)
        inputs = [t for t in tree_leaves((args, kwargs))
                  if isinstance(t, torch.Tensor)]
        derived = bool(inputs) and all(
            _storage(t) in self.derived for t in inputs)
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ptr = storage.data_ptr()
                (self.derived.add if derived else self.derived.discard)(ptr)
                label = WEIGHT_COPIES if derived else self.label()
                self.created.append(
                    (weakref.ref(storage), storage.nbytes(), label))
        return out

    def alive(self, static: set) -> dict:
        """``{storage address: (label, bytes)}`` of the noted storages
        still alive, each once (by its creator), not those in ``static``."""
        gc.collect()
        owners = {}
        for ref, nbytes, label in self.created:
            storage = ref()
            if storage is not None and storage.data_ptr() not in static:
                owners.setdefault(storage.data_ptr(), (label, nbytes))
        return owners


def count_saved(model, data, autocast: dict,
                exact: bool = False) -> collections.Counter:
    """Bytes that one loss forward leaves alive for backward, per
    component, with the copies of parameters under
    :data:`WEIGHT_COPIES`."""
    stack = ['losses and glue']
    for name, module in model.named_modules():
        label = component(name) if name else stack[0]
        module.register_forward_pre_hook(
            lambda *args, label=label: stack.append(label))
        module.register_forward_hook(lambda *args: stack.pop() and None)
    # parameters and buffers (BN statistics, updated in place) are static
    params = {_storage(p) for p in (*model.parameters(), *model.buffers())}
    created = Created(params, lambda: stack[-1], exact)
    with torch.autocast(**autocast), created:
        losses = model(**data, mode='loss')
    # the teachers turn their weights into bf16 at their first autocast call
    # (static memory, listed below)
    static = params | {_storage(t) for teacher in model.teacher_models.values()
                       for t in (*teacher.parameters(), *teacher.buffers())}
    owners = created.alive(static)
    del losses
    totals = collections.Counter()
    for label, nbytes in owners.values():
        totals[label] += nbytes
    return totals


def main():
    args = parse_args()
    from sak_mm.registry import MODELS
    from sak_mm.utils import load_config, synthetic_batch, without_weight_files
    cfg = load_config(args.config, args.cfg_options)
    model = MODELS.build(without_weight_files(cfg.model)).to(args.device)
    model.train()
    size = tuple(cfg.model.crop_size)
    data = model.data_preprocessor(
        synthetic_batch(model, args.batch, size), True)
    autocast = dict(device_type=args.device.split(':')[0],
                    dtype=torch.bfloat16, enabled=args.amp == 'bf16')
    saved = count_saved(model, data, autocast, args.exact)

    mib = 2**20
    trainable = sum(p.numel() * p.element_size() for p in model.parameters()
                    if p.requires_grad)
    teachers = sum(p.numel() * p.element_size()
                   for t in model.teacher_models.values()
                   for p in t.parameters())
    static = [('student parameters', trainable), ('gradients', trainable),
              ('AdamW states', 2 * trainable),
              ('teacher weights', teachers)]
    print(f'{args.config}: batch {args.batch}, {args.amp}, input {size}')
    print('kept for backward')
    for label, nbytes in saved.most_common():
        print(f'  {label:<44} {nbytes / mib:10.1f} MiB')
    total_saved = sum(saved.values())
    per_image = (total_saved - saved[WEIGHT_COPIES]) / args.batch
    split = f'{per_image / mib:.1f} per image'
    if saved[WEIGHT_COPIES]:
        split += ' + weight copies'
    print(f'  {"total":<44} {total_saved / mib:10.1f} MiB ({split})')
    print('static')
    for label, nbytes in static:
        print(f'  {label:<44} {nbytes / mib:10.1f} MiB')
    total = total_saved + sum(n for _, n in static)
    print(f'  {"saved + static":<44} {total / mib:10.1f} MiB')
    for batch in sorted({args.batch, args.estimate_batch}):
        estimate = total + (batch - args.batch) * per_image
        print(f'estimate at batch {batch}: {estimate / 2**30:.1f} GiB '
              f'(before transient buffers and fragmentation)')


if __name__ == '__main__':
    main()
