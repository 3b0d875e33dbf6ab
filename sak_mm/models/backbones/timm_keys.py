# Copyright (c) sak_mm contributors. All rights reserved.
"""Key names of timm's VisionTransformer in mmpretrain's layout."""
import re

#: timm ViT block parameter -> mmpretrain TransformerEncoderLayer parameter
_BLOCK = {
    'norm1': 'ln1',
    'attn.qkv': 'attn.qkv',
    'attn.proj': 'attn.proj',
    'norm2': 'ln2',
    'mlp.fc1': 'ffn.layers.0.0',
    'mlp.fc2': 'ffn.layers.1',
}
_LAYER_SCALE = {'ls1': 'attn.gamma1.weight', 'ls2': 'ffn.gamma2.weight'}
_TOP = {
    'cls_token': 'cls_token',
    'pos_embed': 'pos_embed',
    'patch_embed.proj.weight': 'patch_embed.projection.weight',
    'patch_embed.proj.bias': 'patch_embed.projection.bias',
    'norm.weight': 'ln1.weight',
    'norm.bias': 'ln1.bias',
}
#: timm parts with no counterpart in a headless mmpretrain backbone
TIMM_HEAD_PREFIXES = ('head.', 'fc_norm.', 'head_drop.')


def timm_vit_key_to_mmpretrain(key: str) -> str:
    """Map one timm ViT parameter name (no model prefix) to mmpretrain's.

    Raises:
        KeyError: for a key that is not part of a plain timm ViT backbone.
    """
    if key in _TOP:
        return _TOP[key]
    m = re.fullmatch(r'blocks\.(\d+)\.(ls[12])\.gamma', key)
    if m:
        return f'layers.{m.group(1)}.{_LAYER_SCALE[m.group(2)]}'
    m = re.fullmatch(r'blocks\.(\d+)\.(.+)\.(weight|bias)', key)
    if m and m.group(2) in _BLOCK:
        return f'layers.{m.group(1)}.{_BLOCK[m.group(2)]}.{m.group(3)}'
    raise KeyError(f'unexpected timm ViT key {key!r}')
