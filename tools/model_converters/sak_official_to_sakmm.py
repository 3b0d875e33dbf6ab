# Copyright (c) sak_mm contributors. All rights reserved.
"""Convert a student checkpoint released by the SAK authors to sak_mm.

The released files hold ``{'model': state_dict}`` of the reference
multi-task model: a timm ViT under ``backbone.vit``, adapter paths under
``backbone.tsap.<teacher>.<i>``, output norms ``backbone.out_norms.<blk>_<t>``,
aligners ``backbone.ts_aligners.<blk>_<t>``, routers
``backbone.mor.<blk>_<task>.router.module.{0,1,3}`` and heads
``heads.<task>.{linears.<k>, linear_fuse.{0,1}, last_conv}``. The result is an
mmengine checkpoint for :class:`sak_mm.models.SAKDistiller`.

Example::

    python tools/model_converters/sak_official_to_sakmm.py \\
        SAK_vitl_nyud.pth checkpoints/sak_vitl_nyud_converted.pth
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict

import torch

from sak_mm.models.backbones.timm_keys import (TIMM_HEAD_PREFIXES,
                                               timm_vit_key_to_mmpretrain)

#: reference head modules -> SimpleHead modules
_HEAD = {'linear_fuse.0': 'fuse.0', 'linear_fuse.1': 'fuse.1',
         'last_conv': 'cls'}


def convert_official_sak(state: Dict[str, torch.Tensor],
                         drop_aligners: bool = False
                         ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename a reference SAK student state dict to sak_mm's layout.

    Levels are numbered by the order of the reference's output blocks (the
    ``<blk>`` of ``out_norms.<blk>_<teacher>``).
    """
    blocks = sorted({
        int(m.group(1))
        for k in state for m in [re.match(r'backbone\.out_norms\.(\d+)_', k)]
        if m
    })
    if not blocks:  # a plain multi-task baseline has MoR-free ViT features
        blocks = sorted({
            int(m.group(1))
            for k in state for m in [re.match(r'backbone\.mor\.(\d+)_', k)]
            if m
        })
    level = {b: i for i, b in enumerate(blocks)}
    out = OrderedDict()
    for key, value in state.items():
        new = None
        if key.startswith('backbone.vit.'):
            sub = key[len('backbone.vit.'):]
            if sub.startswith(TIMM_HEAD_PREFIXES + ('norm.', )):
                continue  # timm's classifier / final norm: unused by TAS
            new = 'backbone.stem.' + timm_vit_key_to_mmpretrain(sub)
        elif (m := re.fullmatch(r'backbone\.tsap\.(\w+?)\.(\d+)\.(.+)', key)):
            teacher, idx, rest = m.groups()
            new = f'backbone.adapters.{teacher}.{idx}.{rest}'
        elif (m := re.fullmatch(r'backbone\.out_norms\.(\d+)_(\w+?)\.(\w+)',
                                key)):
            blk, teacher, leaf = m.groups()
            new = f'backbone.out_norms.{teacher}.{level[int(blk)]}.{leaf}'
        elif (m := re.fullmatch(
                r'backbone\.ts_aligners\.(\d+)_(\w+?)\.(\w+)', key)):
            if drop_aligners:
                continue
            blk, teacher, leaf = m.groups()
            new = f'backbone.aligners.{teacher}.{level[int(blk)]}.{leaf}'
        elif (m := re.fullmatch(
                r'backbone\.mor\.(\d+)_(\w+?)\.router\.module\.(\d)\.(\w+)',
                key)):
            blk, task, idx, leaf = m.groups()
            new = f'neck.routers.{task}_{level[int(blk)]}.mlp.{idx}.{leaf}'
        elif (m := re.fullmatch(r'heads\.(\w+?)\.(.+)\.(\w+)', key)):
            task, module, leaf = m.groups()
            if module.startswith('linears.'):
                new = f'heads.{task}.{module}.{leaf}'
            elif module in _HEAD:
                new = f'heads.{task}.{_HEAD[module]}.{leaf}'
        if new is None:
            raise KeyError(f'cannot convert key {key!r}: not a key of a '
                           f'reference SAK student')
        out[new] = value
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='reference checkpoint ({"model": ...})')
    parser.add_argument('dst', help='output sak_mm checkpoint')
    parser.add_argument(
        '--drop-aligners',
        action='store_true',
        help='leave out the stage-1 aligners (stage-2 initialisation)')
    args = parser.parse_args()
    ckpt = torch.load(args.src, map_location='cpu', weights_only=True)
    state = ckpt.get('model', ckpt) if isinstance(ckpt, dict) else ckpt
    converted = convert_official_sak(state, args.drop_aligners)
    torch.save({'meta': {'converted_from': args.src},
                'state_dict': converted}, args.dst)
    print(f'converted {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
