# Copyright (c) sak_mm contributors. All rights reserved.
"""Strict loading of a network's weights (a teacher, a backbone) from a
local file, with errors that name the file and the mismatched keys."""
import os.path as osp
import zipfile
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn as nn

from sak_mm.utils import read_checkpoint
from sak_mm.utils.state_dict_mismatch import describe_mismatch, mis_shaped


class WeightsMismatchError(RuntimeError):
    """A checkpoint does not fit the network it was given to."""


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with compiled code
    beside the weights), such as OpenAI's CLIP releases."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith('/constants.pkl')
                   for name in archive.namelist())


def read_state_dict(path: str,
                    allow_torchscript: bool = False
                    ) -> Dict[str, torch.Tensor]:
    """Read a state dict from ``path``: a checkpoint read weights-only
    (:func:`~sak_mm.utils.read_checkpoint`), a ``.safetensors`` file (timm's
    releases) or, when ``allow_torchscript`` says the file may be one, a
    TorchScript archive (OpenAI's CLIP releases, read through
    ``torch.jit``, which is more than reading data: only for files you
    trust).

    Nested ``state_dict`` / ``model`` / ``module`` containers are unwrapped.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path!r}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    if is_torchscript_archive(path):
        if not allow_torchscript:
            raise WeightsMismatchError(
                f'{path!r} is a TorchScript archive (compiled code beside the '
                'weights); it is read only when the config says so: set '
                'allow_torchscript=True in this model\'s config if you trust '
                'the file (e.g. OpenAI\'s CLIP release)')
        obj = torch.jit.load(path, map_location='cpu').state_dict()
    else:
        obj = read_checkpoint(path)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise WeightsMismatchError(
            f'{path!r} holds a {type(obj).__name__}, not a state dict')
    return obj


def save_torchscript_state(state: Dict[str, torch.Tensor],
                           path: str) -> None:
    """Write ``state`` as a TorchScript archive whose ``state_dict()`` is
    ``state``: the layout of OpenAI's CLIP releases (``ViT-B-16.pt``),
    made here from any weights (tests of the real loading path)."""

    class _Node(nn.Module):

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    root = _Node()
    for key, value in state.items():
        *path_, name = key.split('.')
        node = root
        for part in path_:
            if not hasattr(node, part):
                node.add_module(part, _Node())
            node = getattr(node, part)
        node.register_buffer(name, value.detach().clone())
    torch.jit.save(torch.jit.script(root), path)


def load_strict_weights(
        module: nn.Module,
        path: str,
        prefixes: Sequence[str] = ('', ),
        ignore: Sequence[str] = (),
        convert: Optional[Callable[[Dict[str, torch.Tensor]],
                                   Dict[str, torch.Tensor]]] = None,
        allow_missing: Sequence[str] = (),
        allow_torchscript: bool = False) -> None:
    """Load ``path`` into ``module`` strictly, with an error that names the
    file and the first mismatched keys.

    Args:
        module: The network (a teacher, a backbone).
        path: Local checkpoint file.
        prefixes: Candidate key prefixes of the teacher inside the file (e.g.
            ``'image_encoder.'`` for a full SAM checkpoint); the first one
            that any key starts with is selected and stripped.
        ignore: Key prefixes (after stripping) the teacher does not use, e.g.
            a final norm or a projection head.
        convert: Optional function adapting the stripped state dict (e.g.
            resizing position embeddings to the teacher's input size).
        allow_missing: Key prefixes of ``module`` the file may lack; they
            keep their initialisation (e.g. a Swin's per-level output norms,
            which an ImageNet classifier checkpoint has only for the last
            level).
        allow_torchscript: The file may be a TorchScript archive
            (:func:`read_state_dict`).
    """
    raw = read_state_dict(path, allow_torchscript)
    prefix = next((p for p in prefixes if any(k.startswith(p) for k in raw)),
                  None)
    if prefix is None:
        raise WeightsMismatchError(
            f'{path!r}: no key starts with any of {list(prefixes)}; first keys '
            f'are {list(raw)[:5]}')
    state = {
        k[len(prefix):]: v
        for k, v in raw.items() if k.startswith(prefix)
        and not any(k[len(prefix):].startswith(i) for i in ignore)
    }
    own = module.state_dict()
    if convert is not None:
        try:
            state = convert(state)
        except WeightsMismatchError as err:
            raise WeightsMismatchError(
                f'checkpoint {path!r} does not fit {type(module).__name__}: '
                f'{err}') from err
    missing = [
        k for k in own if k not in state
        and not any(k.startswith(a) for a in allow_missing)
    ]
    unexpected = [k for k in state if k not in own]
    wrong_shape = mis_shaped(state, own)
    if missing or unexpected or wrong_shape:
        message = describe_mismatch(
            f'checkpoint {path!r} for {type(module).__name__}', missing,
            unexpected, wrong_shape)
        if missing:
            message += ('. (Keys the file may lack keep their initialisation '
                        'if their prefixes are listed in allow_missing.)')
        raise WeightsMismatchError(message)
    module.load_state_dict(state, strict=not allow_missing)


def fit_grid_embedding(pos: Optional[torch.Tensor], own: torch.Tensor,
                       num_prefix: int,
                       grid: Sequence[int]) -> Optional[torch.Tensor]:
    """A checkpoint's position embedding ``pos`` resampled to a model's
    ``own`` (laid out on ``grid``) for a strict load. It is returned as it
    is when there is none, when it already fits, and when its width
    differs: that file is for another model, and the strict load names it
    with every mismatched shape (resampling would fail on its grid)."""
    if pos is None or pos.shape == own.shape or \
            pos.shape[-1] != own.shape[-1]:
        return pos
    return resize_grid_embedding(pos, num_prefix, grid)


def resize_grid_embedding(pos: torch.Tensor,
                          num_prefix: int,
                          new_grid: Sequence[int],
                          old_grid: Optional[Sequence[int]] = None
                          ) -> torch.Tensor:
    """Resize a ``(N_prefix + h*w, C)`` or ``(1, ..., C)`` position
    embedding laid out on an ``old_grid`` (square when None) to
    ``new_grid`` as timm resamples checkpoints (the SAK reference's
    teachers): bicubic with antialiasing (PIL's cubic kernel, a = -0.5, also
    where the grid grows). Prefix (class) tokens are kept as they are."""
    squeeze = pos.dim() == 2
    if squeeze:
        pos = pos[None]
    prefix, grid = pos[:, :num_prefix], pos[:, num_prefix:]
    if old_grid is None:
        side = int(round(grid.shape[1]**0.5))
        if side * side != grid.shape[1]:
            raise WeightsMismatchError(
                f'position embedding with {grid.shape[1]} grid tokens is not '
                f'square')
        old_grid = (side, side)
    if tuple(old_grid) != tuple(new_grid):
        grid = grid.reshape(1, *old_grid, -1).permute(0, 3, 1, 2).float()
        grid = torch.nn.functional.interpolate(
            grid, size=tuple(new_grid), mode='bicubic', align_corners=False,
            antialias=True)
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, pos.shape[-1]).to(
            pos.dtype)
    out = torch.cat([prefix, grid], dim=1)
    return out[0] if squeeze else out
