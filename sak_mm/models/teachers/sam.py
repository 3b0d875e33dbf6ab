# Copyright (c) sak_mm contributors. All rights reserved.
"""SAM teachers on segment_anything's image encoder."""
import math
from functools import partial
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from sak_mm.registry import MODELS
from .base import TeacherWrapper, default_levels
from sak_mm.models.utils.weights import load_strict_weights

#: segment_anything's encoder settings per released size
SAM_ARCHS = {
    'vit_b': dict(embed_dim=768, depth=12, num_heads=12,
                  global_attn_indexes=(2, 5, 8, 11)),
    'vit_l': dict(embed_dim=1024, depth=24, num_heads=16,
                  global_attn_indexes=(5, 11, 17, 23)),
    'vit_h': dict(embed_dim=1280, depth=32, num_heads=16,
                  global_attn_indexes=(7, 15, 23, 31)),
}


class RelPosSDPAttention(nn.Module):
    """segment_anything's attention (with decomposed relative positions) as
    one fused ``scaled_dot_product_attention`` call; it takes the place of
    a block's ``Attention`` and its parameters (same names, same values).

    SAM adds ``q . Rh[kh(j)] + q . Rw[kw(j)]`` to the logit of query ``i``
    and key ``j``. That bias is itself a dot product, of
    ``[q Rh^T, q Rw^T]`` (per query) with the one-hot codes of the key's row
    and column, so appending those columns to ``q`` and ``k`` puts it inside
    the attention kernel and no ``(HW)^2`` bias or score matrix is ever
    stored (a 4096 x 4096 matrix per head in SAM's global blocks).

    Args:
        attn: A ``segment_anything`` ``Attention`` module.
    """

    def __init__(self, attn: nn.Module):
        super().__init__()
        self.num_heads = attn.num_heads
        self.scale = attn.scale
        self.use_rel_pos = attn.use_rel_pos
        self.qkv, self.proj = attn.qkv, attn.proj
        if self.use_rel_pos:
            self.rel_pos_h, self.rel_pos_w = attn.rel_pos_h, attn.rel_pos_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, C)`` tokens -> ``(B, H, W, C)``."""
        from segment_anything.modeling.image_encoder import get_rel_pos
        b, h, w, _ = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).reshape(b, h * w, 3, heads,
                                  -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # B, heads, HW, c
        c = q.shape[-1]
        if not self.use_rel_pos:
            out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
            return self.proj(out.transpose(1, 2).reshape(b, h, w, -1))
        rh = get_rel_pos(h, h, self.rel_pos_h).to(q.dtype)  # h, h, c
        rw = get_rel_pos(w, w, self.rel_pos_w).to(q.dtype)  # w, w, c
        rq = q.reshape(b, heads, h, w, c)
        bias_h = torch.einsum('bnhwc,hkc->bnhwk', rq, rh).reshape(
            b, heads, h * w, h)
        bias_w = torch.einsum('bnhwc,wkc->bnhwk', rq, rw).reshape(
            b, heads, h * w, w)
        eye_h = torch.eye(h, dtype=q.dtype, device=q.device)
        eye_w = torch.eye(w, dtype=q.dtype, device=q.device)
        code_h = eye_h[:, None, :].expand(h, w, h).reshape(h * w, h)
        code_w = eye_w[None, :, :].expand(h, w, w).reshape(h * w, w)
        # zero columns up to a multiple of 8 (64 + 14 + 14 = 92 -> 96 in
        # the window blocks): the width the fused kernels take as it is;
        # PyTorch would otherwise pad copies of q, k and v at every call
        pad = -(c + h + w) % 8
        zeros = q.new_zeros(()).expand(h * w, pad)
        codes = torch.cat([code_h, code_w, zeros], -1).expand(b, heads, -1, -1)
        q = torch.cat([q * self.scale, bias_h, bias_w,
                       zeros.expand(b, heads, -1, -1)], -1)
        k = torch.cat([k, codes], -1)
        v = F.pad(v, (0, q.shape[-1] - c))  # equal head dims: fused kernels
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0)[..., :c]
        return self.proj(out.transpose(1, 2).reshape(b, h, w, -1))


def resize_longest_and_pad(x: torch.Tensor,
                           side: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Resize so the longest side is ``side`` (bicubic), pad bottom/right with
    zeros to ``side x side``; return the canvas and the resized ``(h, w)``."""
    h, w = x.shape[-2:]
    scale = side / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    x = F.interpolate(x, (nh, nw), mode='bicubic', align_corners=False)
    return F.pad(x, (0, side - nw, 0, side - nh)), (nh, nw)


@MODELS.register_module()
class SAMTeacher(TeacherWrapper):
    """The image encoder of SAM, frozen; its neck is not used.

    SAM needs its input resized so the longest side is ``img_size`` and
    zero-padded to a square canvas. Its feature maps therefore cover the
    canvas, of which only the top-left region holds the image.

    Args:
        arch (str | dict): ``'vit_b'``, ``'vit_l'``, ``'vit_h'`` or a dict
            with ``embed_dim``, ``depth``, ``num_heads``,
            ``global_attn_indexes`` (tiny test models).
        img_size (int): Canvas side (1024 for the released weights).
        patch_size (int): Defaults to 16.
        window_size (int): Windowed-attention size (14 for SAM).
        align_valid_region (bool): If True (default) each level is cropped to
            the patches that hold the image, so it aligns with the student's
            map once resized. False returns the whole canvas (SAK reference,
            which stretches the features of non-square inputs).
        checkpoint (str, optional): A SAM ``.pth`` (full model, keys
            ``image_encoder.*``) or an image-encoder state dict.
        fused_attention (bool): Replace each block's attention with
            :class:`RelPosSDPAttention` (default; same values as
            segment_anything's own, without its ``(HW)^2`` matrices) or keep
            segment_anything's.
        out_indices: Blocks to read; defaults to the 4 evenly spaced ones.
    """

    @classmethod
    def with_crop(cls, cfg: dict, crop_size) -> dict:
        """SAM is not built for the training crop: it resizes every input
        to its own canvas (``img_size``)."""
        return cfg

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        return dict(arch=dict(embed_dim=32, depth=4, num_heads=2,
                              global_attn_indexes=(1, 3)),
                    img_size=64, window_size=2)

    def save_release_file(self, path: str) -> None:
        """A full SAM checkpoint: ``image_encoder.*`` beside the prompt
        encoder's and mask decoder's weights."""
        state = {f'image_encoder.{k}': v
                 for k, v in self.model.state_dict().items()}
        state['image_encoder.neck.0.weight'] = torch.zeros(4, 4, 1, 1)
        state['mask_decoder.iou_token.weight'] = torch.zeros(1, 4)
        torch.save(state, path)

    def __init__(self,
                 arch: Union[str, dict] = 'vit_l',
                 img_size: int = 1024,
                 patch_size: int = 16,
                 window_size: int = 14,
                 align_valid_region: bool = True,
                 checkpoint: Optional[str] = None,
                 out_indices: Optional[Sequence[int]] = None,
                 fused_attention: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        from segment_anything.modeling import ImageEncoderViT
        settings = SAM_ARCHS[arch] if isinstance(arch, str) else dict(arch)
        self.img_size = img_size
        self.patch_size = patch_size
        self.align_valid_region = align_valid_region
        self.out_indices = default_levels(out_indices, settings['depth'])
        self.model = ImageEncoderViT(
            img_size=img_size,
            patch_size=patch_size,
            mlp_ratio=4,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            qkv_bias=True,
            use_rel_pos=True,
            window_size=window_size,
            out_chans=256,
            **settings)
        del self.model.neck  # the teacher's features come from its blocks
        if checkpoint is not None:
            load_strict_weights(
                self.model,
                checkpoint,
                prefixes=('image_encoder.', ''),
                ignore=('neck.', ))
        if fused_attention:
            for block in self.model.blocks:
                block.attn = RelPosSDPAttention(block.attn)
        self.freeze()

    @property
    def embed_dims(self) -> int:
        return self.model.patch_embed.proj.out_channels

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        canvas, _ = resize_longest_and_pad(x, self.img_size)
        return canvas

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.model.patch_embed(x)
        if self.model.pos_embed is not None:
            x = x + self.model.pos_embed
        feats = []
        for i, blk in enumerate(self.model.blocks):
            x = blk(x)
            if i in self.out_indices:
                feats.append(x.permute(0, 3, 1, 2).contiguous())
            if i == self.out_indices[-1]:
                break
        return feats

    def valid_grid(self, input_shape: Tuple[int, int]) -> Tuple[int, int]:
        """Patches of the canvas covered by an input of ``input_shape``."""
        h, w = input_shape
        scale = self.img_size / max(h, w)
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        return (math.ceil(nh / self.patch_size),
                math.ceil(nw / self.patch_size))

    def postprocess(self, feats: List[torch.Tensor],
                    input_shape) -> List[torch.Tensor]:
        if not self.align_valid_region:
            return feats
        gh, gw = self.valid_grid(input_shape)
        return [f[..., :gh, :gw] for f in feats]
