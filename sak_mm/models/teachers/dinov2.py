# Copyright (c) sak_mm contributors. All rights reserved.
"""DINOv2 teachers on mmpretrain's VisionTransformer."""
from typing import List, Optional, Sequence, Tuple, Union

import torch

from sak_mm.models.backbones.timm_keys import timm_vit_key_to_mmpretrain
from sak_mm.models.utils import plain_drop_probs
from sak_mm.registry import MODELS
from .base import TeacherWrapper, crop_to_patch_multiple, default_levels
from sak_mm.models.utils.weights import fit_grid_embedding, load_strict_weights


def official_to_mmpretrain(state: dict) -> dict:
    """Rename the official DINOv2 release's timm-style keys (``blocks.*``,
    ``ls1.gamma``...) to mmpretrain's; mmpretrain checkpoints pass as is."""
    if not any(k.startswith('blocks.') for k in state):
        return state
    return {timm_vit_key_to_mmpretrain(k): v for k, v in state.items()}


@MODELS.register_module()
class DINOv2Teacher(TeacherWrapper):
    """A frozen DINOv2 ViT (patch 14, LayerScale), mmpretrain layout.

    Args:
        arch (str | dict): mmpretrain ``VisionTransformer`` arch, e.g.
            ``'large'`` (DINOv2-L: 1024 wide, 24 blocks) or a custom dict.
        patch_size (int): Defaults to 14.
        img_size (int | tuple): Input ``(H, W)`` the teacher is trained with
            (the student's crop), cropped to a multiple of the patch size.
            The position embedding is built for that grid and the
            checkpoint's (37 x 37 for the released weights, made at 518) is
            resampled to it once, at load, as the SAK reference's timm
            models resample it (:func:`~.weights.fit_grid_embedding`).
            Other input sizes interpolate it on every call (mmpretrain's
            bicubic, without antialiasing).
        layer_scale_init_value (float): Must be non-zero for DINOv2 weights.
        out_indices (Sequence[int], optional): Blocks to read; defaults to
            the 4 evenly spaced ones.
        checkpoint (str, optional): Either an mmpretrain checkpoint of the
            backbone (keys with or without ``backbone.``) or the official
            DINOv2 release (``dinov2_vitl14_pretrain.pth``, timm-style keys),
            converted on load. None keeps random weights (tests, benchmarks).
        **kwargs: Normalisation options of :class:`TeacherWrapper`.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'large',
                 patch_size: int = 14,
                 img_size: Union[int, Tuple[int, int]] = 518,
                 layer_scale_init_value: float = 1e-5,
                 out_indices: Optional[Sequence[int]] = None,
                 checkpoint: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        from mmpretrain.models.backbones.vision_transformer import \
            VisionTransformer
        probe = VisionTransformer.arch_zoo[arch] if isinstance(arch, str) \
            else arch
        self.out_indices = default_levels(out_indices, probe['num_layers'])
        self.patch_size = patch_size
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        self.model = VisionTransformer(
            arch=arch,
            img_size=(h // patch_size * patch_size,
                      w // patch_size * patch_size),
            patch_size=patch_size,
            layer_scale_init_value=layer_scale_init_value,
            out_indices=list(self.out_indices),
            final_norm=False,
            out_type='raw')
        plain_drop_probs(self.model)  # no graph breaks under torch.compile
        if checkpoint is not None:
            load_strict_weights(
                self.model,
                checkpoint,
                prefixes=('backbone.', ''),
                ignore=('ln1.', 'head.', 'ln2.', 'norm.', 'mask_token'),
                convert=self._convert)
        self.freeze()

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        return dict(arch=dict(embed_dims=24, num_layers=4, num_heads=2,
                              feedforward_channels=48))

    def save_release_file(self, path: str) -> None:
        """An mmpretrain checkpoint: ``backbone.*`` with a final norm."""
        state = {f'backbone.{k}': v for k, v in self.model.state_dict().items()}
        width = self.embed_dims
        state.update({'backbone.ln1.weight': torch.ones(width),
                      'backbone.ln1.bias': torch.zeros(width)})
        torch.save(dict(meta=dict(), state_dict=state), path)

    def _convert(self, state: dict) -> dict:
        """The checkpoint in mmpretrain's layout, its position embedding
        resampled to the grid the teacher is built for."""
        state = official_to_mmpretrain(state)
        if 'pos_embed' in state:
            state['pos_embed'] = fit_grid_embedding(
                state['pos_embed'], self.model.pos_embed,
                self.model.num_extra_tokens, self.model.patch_resolution)
        return state

    @property
    def embed_dims(self) -> int:
        return self.model.embed_dims

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return crop_to_patch_multiple(x, self.patch_size)

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        b = x.shape[0]
        h, w = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        outs = self.model(x)
        n = self.model.num_extra_tokens
        return [
            t[:, n:].reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
            for t in outs
        ]
