# Copyright (c) sak_mm contributors. All rights reserved.
"""Where a training step's memory goes, counted on any device (a CPU is
enough): the tensors autograd saves for the backward pass, per component,
and the step's static memory (parameters, gradients, AdamW states,
teacher weights).

    python tools/benchmarks/activation_memory.py configs/sak/sak_vitl_nyud.py --batch 1
    python tools/benchmarks/activation_memory.py configs/sak/sak_vitl_nyud.py --cfg-options model.backbone.with_cp=True

Saved tensors are counted once per storage (a tensor saved by two ops, or
a view of another, counts once) and attributed to the module whose forward
saved them first (the loss modules' under "losses and glue"); parameters
themselves are static memory, not activations. Saved tensors computed from parameters alone (autocast's
bf16 weight copies, stacked adapter weights; the SAK model rebuilds these
in backward, one built with ``save_memory=False`` keeps them) are listed
apart: they do not grow with the batch, so the batch-N estimate counts
them once. Teachers run without autograd and save nothing; their
outputs are a few MB. On the CPU the fused kernels run only with
``TRITON_INTERPRET=1`` (slow at ViT-L sizes: minutes); without it the
``fused_kernels`` switches fall back to the eager code and count as eager.
The peak of a real GPU step adds the largest transient buffers and the
allocator's fragmentation on top of these numbers.
"""
import argparse
import collections

import torch
from mmengine.config import DictAction
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

# (module name prefix, label); the backbone's own label covers what its
# forward saves outside submodules: the fused adapter kernels' tensors and
# the inputs of checkpointed stem blocks
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


class ParameterDerived(TorchDispatchMode):
    """Tracks the storages computed from parameters alone (casts, stacks,
    transposes of weights): every op's outputs are marked derived exactly
    when all its tensor inputs are, so a freed address reused by an
    activation is unmarked again."""

    def __init__(self, parameter_storages: set):
        super().__init__()
        self.derived = set(parameter_storages)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = [t for t in tree_leaves((args, kwargs))
                  if isinstance(t, torch.Tensor)]
        derived = bool(inputs) and all(
            _storage(t) in self.derived for t in inputs)
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                (self.derived.add if derived else self.derived.discard)(
                    _storage(t))
        return out


def count_saved(model, data, autocast: dict) -> collections.Counter:
    """Bytes saved for backward by one loss forward, per component, with
    the copies of parameters under :data:`WEIGHT_COPIES`."""
    stack = ['losses and glue']
    for name, module in model.named_modules():
        label = component(name) if name else stack[0]
        module.register_forward_pre_hook(
            lambda *args, label=label: stack.append(label))
        module.register_forward_hook(lambda *args: stack.pop() and None)
    params = {_storage(p) for p in model.parameters()}
    tracker = ParameterDerived(params)
    # storage pointer -> (label, bytes, storage): holding the storage keeps
    # its address from being reused by a later tensor in this forward
    owners = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in params and ptr not in owners:
            label = WEIGHT_COPIES if ptr in tracker.derived else stack[-1]
            owners[ptr] = (label, storage.nbytes(), storage)
        return tensor

    with torch.autocast(**autocast), tracker, \
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(**data, mode='loss')
    totals = collections.Counter()
    for label, nbytes, _ in owners.values():
        totals[label] += nbytes
    return totals


def main():
    args = parse_args()
    from sak_mm.registry import MODELS
    from sak_mm.utils import load_config, synthetic_batch, without_weight_files
    cfg = load_config(args.config, args.cfg_options)
    model = MODELS.build(without_weight_files(cfg.model)).to(args.device)
    model.train()
    size = tuple(cfg.model.backbone.stem.img_size)
    data = model.data_preprocessor(
        synthetic_batch(model, args.batch, size), True)
    autocast = dict(device_type=args.device.split(':')[0],
                    dtype=torch.bfloat16, enabled=args.amp == 'bf16')
    saved = count_saved(model, data, autocast)

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
    print('saved for backward')
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
