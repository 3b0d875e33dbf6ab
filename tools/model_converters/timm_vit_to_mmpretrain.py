# Copyright (c) sak_mm contributors. All rights reserved.
"""Convert a timm ViT checkpoint into an mmpretrain backbone checkpoint.

The stem of the SAK student is initialised from timm's ImageNet ViTs (e.g.
``vit_large_patch16_384``); this writes them with mmpretrain's key names
under ``backbone.``, loadable by ``init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='backbone.')``. The classifier head is dropped; the
final norm is kept as ``ln1`` (unused by the TSAP stem).

Example::

    python tools/model_converters/timm_vit_to_mmpretrain.py \\
        vit_large_patch16_384.bin checkpoints/vit-large-p16_in21k-in1k-384.pth
"""
import argparse

import torch

from sak_mm.models.backbones.timm_keys import (TIMM_HEAD_PREFIXES,
                                               timm_vit_key_to_mmpretrain)


def convert(state: dict) -> dict:
    return {
        'backbone.' + timm_vit_key_to_mmpretrain(k): v
        for k, v in state.items() if not k.startswith(TIMM_HEAD_PREFIXES)
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm state dict (.pth/.bin/.safetensors)')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    args = parser.parse_args()
    if args.src.endswith('.safetensors'):
        from safetensors.torch import load_file
        state = load_file(args.src)
    else:
        state = torch.load(args.src, map_location='cpu', weights_only=True)
    state = state.get('state_dict', state.get('model', state))
    torch.save({'meta': {'converted_from': args.src},
                'state_dict': convert(state)}, args.dst)
    print(f'converted {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
