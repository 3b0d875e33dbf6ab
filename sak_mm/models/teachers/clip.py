# Copyright (c) sak_mm contributors. All rights reserved.
"""CLIP / OpenCLIP teachers on open_clip's vision tower."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch

from sak_mm.registry import MODELS
from .base import TeacherWrapper, crop_to_patch_multiple, default_levels
from .weights import load_teacher_weights, resize_grid_embedding

OPENAI_CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
OPENAI_CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


@MODELS.register_module()
class CLIPTeacher(TeacherWrapper):
    """The image encoder of a CLIP model from open_clip, frozen.

    Args:
        model_name (str): open_clip model name, e.g. ``'ViT-L-14-336'``;
            ignored when ``vision_cfg`` is given.
        vision_cfg (dict, optional): An explicit open_clip ``CLIPVisionCfg``
            (``width``, ``layers``, ``patch_size``...), e.g. a tiny test model.
        img_size (tuple): Input ``(H, W)`` the teacher is trained with (the
            student's crop), cropped to a multiple of the patch size. The
            position embedding is built for that grid and the checkpoint's
            is resized to it at load time; other input sizes interpolate it
            on the fly.
        pretrained (str, optional): A local checkpoint file (open_clip
            ``state_dict`` or OpenAI TorchScript archive), or an open_clip
            pretrained tag resolved from the local open_clip cache.
        quick_gelu (bool): Use QuickGELU, as OpenAI's released CLIP weights
            need (open_clip's configs default to GELU). With an open_clip
            tag, the tag's own setting is used.
        out_indices: Blocks to read; defaults to the 4 evenly spaced ones.
        mean, std: CLIP's normalisation (OpenAI's by default).
    """

    def __init__(self,
                 model_name: str = 'ViT-L-14-336',
                 vision_cfg: Optional[dict] = None,
                 img_size: Tuple[int, int] = (448, 576),
                 pretrained: Optional[str] = None,
                 quick_gelu: bool = False,
                 out_indices: Optional[Sequence[int]] = None,
                 mean: Sequence[float] = OPENAI_CLIP_MEAN,
                 std: Sequence[float] = OPENAI_CLIP_STD,
                 **kwargs):
        super().__init__(mean=mean, std=std, **kwargs)
        import open_clip
        from open_clip.model import _build_vision_tower
        if vision_cfg is None:
            cfg = open_clip.get_model_config(model_name)
            if cfg is None:
                raise ValueError(f'open_clip knows no model {model_name!r}')
            embed_dim, vision_cfg = cfg['embed_dim'], dict(cfg['vision_cfg'])
        else:
            vision_cfg = dict(vision_cfg)
            embed_dim = vision_cfg.pop('embed_dim', vision_cfg['width'])
        self.patch_size = vision_cfg['patch_size']
        p = self.patch_size
        self.grid = (img_size[0] // p, img_size[1] // p)
        vision_cfg['image_size'] = (self.grid[0] * p, self.grid[1] * p)
        tag_cfg = None
        if pretrained is not None and not osp.isfile(pretrained):
            tag_cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
            if not tag_cfg:
                raise FileNotFoundError(
                    f'CLIP weights {pretrained!r} are neither a file nor an '
                    f'open_clip pretrained tag of {model_name!r}')
            quick_gelu = tag_cfg.get('quick_gelu', quick_gelu)
        self.model = _build_vision_tower(
            embed_dim, vision_cfg, quick_gelu=quick_gelu)
        self.out_indices = default_levels(out_indices, vision_cfg['layers'])
        if pretrained is not None:
            if tag_cfg:  # read from the local open_clip cache when offline
                from open_clip.pretrained import download_pretrained
                pretrained = download_pretrained(tag_cfg)
            load_teacher_weights(
                self.model,
                pretrained,
                prefixes=('visual.', ),
                convert=self._resize_pos_embed)
        self.freeze()

    def _resize_pos_embed(self, state: dict) -> dict:
        if 'positional_embedding' in state:
            state['positional_embedding'] = resize_grid_embedding(
                state['positional_embedding'], 1, self.grid)
        return state

    @property
    def embed_dims(self) -> int:
        return self.model.transformer.width

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return crop_to_patch_multiple(x, self.patch_size)

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        """open_clip's embedding + transformer, with the position embedding
        interpolated when the input grid is not the one built for."""
        v = self.model
        b = x.shape[0]
        grid = (x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size)
        tokens = v.conv1(x).flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(tokens.dtype).expand(b, 1, -1)
        tokens = torch.cat([cls, tokens], dim=1)
        pos = v.positional_embedding
        if grid != self.grid:
            pos = resize_grid_embedding(pos, 1, grid, self.grid)
        tokens = v.ln_pre(v.patch_dropout(tokens + pos.to(tokens.dtype)))
        _, feats = v.transformer.forward_intermediates(
            tokens, indices=list(self.out_indices), stop_early=True)
        return [
            f[:, 1:].reshape(b, *grid, -1).permute(0, 3, 1, 2).contiguous()
            for f in feats
        ]
