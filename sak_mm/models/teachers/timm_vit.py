# Copyright (c) sak_mm contributors. All rights reserved.
"""Teachers on timm's VisionTransformer (the SAK reference's CLIP weights)."""
from typing import List, Optional, Sequence, Tuple

import torch

from sak_mm.registry import MODELS
from .base import TeacherWrapper, crop_to_patch_multiple, default_levels
from sak_mm.models.utils.weights import load_strict_weights


@MODELS.register_module()
class TimmViTTeacher(TeacherWrapper):
    """A frozen timm ``VisionTransformer``, e.g. the SAK reference's CLIP
    teachers: ``'vit_large_patch14_clip_336'`` and
    ``'vit_base_patch16_clip_384'`` with timm's default weights
    (``laion2b_ft_in12k_in1k``: OpenCLIP LAION-2B towers fine-tuned on
    ImageNet).

    The model comes from ``timm.create_model`` (no download), built for the
    training crop; its features from ``forward_intermediates`` (4 levels,
    prefix tokens dropped, no final norm). The checkpoint's position
    embedding is resampled to the crop's grid at load by timm's own
    checkpoint filter, as the reference loads it; other input sizes
    resample it per call (timm's ``dynamic_img_size``).

    Args:
        model_name (str): A timm model name.
        img_size (tuple): Input ``(H, W)`` the teacher is trained with; the
            right/bottom pixels that do not fill a patch are dropped.
        checkpoint (str, optional): A local file of the model's timm weights
            (``model.safetensors`` of the timm hub repository, or a
            ``.pth``); its classifier head is not used.
        out_indices: Blocks to read; defaults to the 4 evenly spaced ones.
        model_kwargs (dict, optional): More arguments of
            ``timm.create_model`` (e.g. the widths of a tiny test model).
        mean, std: The weights' normalisation (0-255 scale); CLIP-L
            ``laion2b_ft_in12k_in1k`` uses 127.5 / 127.5, CLIP-B/16 at 384
            OpenAI's CLIP statistics (timm's pretrained configs).
    """

    def __init__(self,
                 model_name: str,
                 img_size: Tuple[int, int] = (448, 576),
                 checkpoint: Optional[str] = None,
                 out_indices: Optional[Sequence[int]] = None,
                 model_kwargs: Optional[dict] = None,
                 **kwargs):
        super().__init__(**kwargs)
        import timm
        from timm.models.vision_transformer import checkpoint_filter_fn
        self.model = timm.create_model(
            model_name,
            pretrained=False,
            img_size=tuple(img_size),
            num_classes=0,
            global_pool='',
            dynamic_img_size=True,
            **(model_kwargs or {}))
        self.patch_size = self.model.patch_embed.patch_size[0]
        self.out_indices = default_levels(out_indices, len(self.model.blocks))
        if checkpoint is not None:
            load_strict_weights(
                self.model,
                checkpoint,
                ignore=('head.', ),
                convert=lambda state: checkpoint_filter_fn(state, self.model))
        self.freeze()

    @classmethod
    def tiny_test_cfg(cls) -> dict:
        return dict(model_kwargs=dict(embed_dim=32, depth=4, num_heads=2))

    def save_release_file(self, path: str) -> None:
        """The timm hub's ``model.safetensors``, classifier head included."""
        from safetensors.torch import save_file
        state = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        state['head.weight'] = torch.zeros(10, self.embed_dims)
        save_file(state, path)

    @property
    def embed_dims(self) -> int:
        return self.model.embed_dim

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return crop_to_patch_multiple(x, self.patch_size)

    def extract(self, x: torch.Tensor) -> List[torch.Tensor]:
        return self.model.forward_intermediates(
            x, indices=list(self.out_indices), norm=False, output_fmt='NCHW',
            intermediates_only=True)
