# Copyright (c) sak_mm contributors. All rights reserved.
"""CLIP / OpenCLIP teachers on open_clip's vision tower."""
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.module import register_module_module_registration_hook

from sak_mm.registry import MODELS
from .base import TeacherWrapper, crop_to_patch_multiple, default_levels
from sak_mm.models.utils.weights import (fit_grid_embedding,
                                         load_strict_weights,
                                         resize_grid_embedding,
                                         save_torchscript_state)

OPENAI_CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
OPENAI_CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


#: the text tower open_clip builds with every CLIP model; the teacher uses
#: the image tower only, so the text tower is built as small as it allows
_UNUSED_TEXT_TOWER = dict(context_length=1, vocab_size=1, width=8, heads=1,
                          layers=1)


def _image_tower(model_name: str, **kwargs) -> nn.Module:
    """``open_clip.create_model(model_name, **kwargs).visual``, leaving the
    random number generator where building the image tower alone leaves
    it: the text tower open_clip builds after it is thrown away, and so are
    its random draws (the models built after the teacher get the weights
    they would get without it)."""
    import open_clip
    after_image_tower = {}

    def snapshot(module, name, submodule):
        if name == 'visual' and not after_image_tower:
            after_image_tower['rng'] = torch.get_rng_state()

    handle = register_module_module_registration_hook(snapshot)
    try:
        model = open_clip.create_model(model_name, **kwargs)
    finally:
        handle.remove()
    torch.set_rng_state(after_image_tower['rng'])
    return model.visual


def _intermediates(tower: nn.Module, indices: List[int],
                   x: torch.Tensor) -> List[torch.Tensor]:
    """An open_clip image tower's levels, ``(B, C, h, w)`` each."""
    return tower.forward_intermediates(
        x, indices=indices, stop_early=True, intermediates_only=True,
        output_fmt='NCHW')['image_intermediates']


class _Intermediates(nn.Module):
    """:func:`_intermediates` as a module's forward, so that
    ``torch.func.functional_call`` can run it with another position
    embedding (built only for input grids the teacher was not built for)."""

    def __init__(self, tower: nn.Module, indices: List[int]):
        super().__init__()
        self.tower = tower
        self.indices = indices

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return _intermediates(self.tower, self.indices, x)


@MODELS.register_module()
class CLIPTeacher(TeacherWrapper):
    """The image encoder of a CLIP model from open_clip, frozen.

    The tower comes from ``open_clip.create_model`` and its features from
    the tower's ``forward_intermediates`` (4 levels, prefix tokens dropped,
    no final norm).

    Args:
        model_name (str): open_clip model name, e.g. ``'ViT-L-14-336'``.
        vision_cfg (dict, optional): An explicit open_clip ``CLIPVisionCfg``
            (``width``, ``layers``, ``patch_size``...) replacing the model's,
            e.g. a tiny test model; ``embed_dim`` may be given in it.
        img_size (tuple): Input ``(H, W)`` the teacher is trained with (the
            student's crop), cropped to a multiple of the patch size. The
            position embedding is built for that grid and the checkpoint's
            is resized to it at load time; inputs of another size (e.g.
            whole validation images) run with it resized for their grid.
        checkpoint (str, optional): A local checkpoint file (open_clip
            ``state_dict`` or OpenAI TorchScript archive), or an open_clip
            pretrained tag resolved from the local open_clip cache. (The
            weight argument of every teacher family.)
        pretrained (str, optional): Deprecated name of ``checkpoint``.
        allow_torchscript (bool): ``checkpoint`` may be a TorchScript
            archive (OpenAI's releases are), read through ``torch.jit``:
            only for files you trust. Otherwise such a file is refused.
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
                 checkpoint: Optional[str] = None,
                 allow_torchscript: bool = False,
                 quick_gelu: bool = False,
                 out_indices: Optional[Sequence[int]] = None,
                 mean: Sequence[float] = OPENAI_CLIP_MEAN,
                 std: Sequence[float] = OPENAI_CLIP_STD,
                 pretrained: Optional[str] = None,
                 **kwargs):
        super().__init__(mean=mean, std=std, **kwargs)
        if pretrained is not None:
            if checkpoint is not None:
                raise ValueError('CLIPTeacher: give checkpoint only '
                                 '(pretrained is its deprecated name)')
            warnings.warn(
                'CLIPTeacher(pretrained=...) is deprecated: use '
                'checkpoint=..., the weight argument of every teacher',
                FutureWarning, stacklevel=2)
            checkpoint = pretrained
        import open_clip
        cfg = open_clip.get_model_config(model_name)
        if cfg is None:
            raise ValueError(f'open_clip knows no model {model_name!r}')
        embed_dim = cfg['embed_dim']
        if vision_cfg is None:
            vision_cfg = dict(cfg['vision_cfg'])
        else:
            vision_cfg = dict(vision_cfg)
            embed_dim = vision_cfg.pop('embed_dim', vision_cfg['width'])
        self.patch_size = vision_cfg['patch_size']
        p = self.patch_size
        self.grid = (img_size[0] // p, img_size[1] // p)
        vision_cfg['image_size'] = (self.grid[0] * p, self.grid[1] * p)
        tag_cfg = None
        if checkpoint is not None and not osp.isfile(checkpoint):
            tag_cfg = open_clip.get_pretrained_cfg(model_name, checkpoint)
            if not tag_cfg:
                raise FileNotFoundError(
                    f'CLIP weights {checkpoint!r} are neither a file nor an '
                    f'open_clip pretrained tag of {model_name!r}')
            quick_gelu = tag_cfg.get('quick_gelu', quick_gelu)
        self.model = _image_tower(
            model_name,
            load_weights=False,
            embed_dim=embed_dim,
            vision_cfg=vision_cfg,
            text_cfg=_UNUSED_TEXT_TOWER,
            quick_gelu=quick_gelu)
        self.out_indices = default_levels(out_indices, vision_cfg['layers'])
        if checkpoint is not None:
            if tag_cfg:  # read from the local open_clip cache when offline
                from open_clip.pretrained import download_pretrained
                checkpoint = download_pretrained(tag_cfg)
            load_strict_weights(
                self.model,
                checkpoint,
                prefixes=('visual.', ),
                convert=self._resize_pos_embed,
                allow_torchscript=allow_torchscript)
        self.freeze()

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        return dict(vision_cfg=dict(width=32, layers=4, head_width=16,
                                    patch_size=16, mlp_ratio=2.0))

    def save_release_file(self, path: str) -> None:
        """OpenAI's layout: a TorchScript archive of the whole CLIP model
        (``visual.*`` beside the text tower's weights)."""
        state = {f'visual.{k}': v for k, v in self.model.state_dict().items()}
        state['token_embedding.weight'] = torch.zeros(8, 4)
        save_torchscript_state(state, path)

    @property
    def num_prefix_tokens(self) -> int:
        """Class (and other prefix) tokens before the grid's, counted in
        the model's position embedding."""
        return self.model.positional_embedding.shape[0] - \
            self.grid[0] * self.grid[1]

    def _resize_pos_embed(self, state: dict) -> dict:
        if 'positional_embedding' in state:
            state['positional_embedding'] = fit_grid_embedding(
                state['positional_embedding'],
                self.model.positional_embedding, self.num_prefix_tokens,
                self.grid)
        return state

    @property
    def embed_dims(self) -> int:
        return self.model.transformer.width

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return crop_to_patch_multiple(x, self.patch_size)

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The tower's intermediate features; an input grid other than the
        one built for runs with the position embedding resized to it."""
        indices = list(self.out_indices)
        grid = (x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size)
        if grid == self.grid:
            return _intermediates(self.model, indices, x)
        pos = resize_grid_embedding(self.model.positional_embedding,
                                    self.num_prefix_tokens, grid, self.grid)
        return torch.func.functional_call(
            _Intermediates(self.model, indices),
            {'tower.positional_embedding': pos}, (x, ))
