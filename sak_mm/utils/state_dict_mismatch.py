# Copyright (c) sak_mm contributors. All rights reserved.
"""A checkpoint that does not fit a model, summarised: how many keys the
file lacks, the model lacks or hold tensors of other shapes, the first few
of each and the likely cause, instead of torch's list of every key."""
from collections import Counter
from typing import List, Sequence

import torch.nn as nn

#: keys shown per kind of mismatch
SHOWN = 5


def listed(what: str, keys: Sequence[str]) -> str:
    """``'<what> (<n>): a, b, ...'`` with the first :data:`SHOWN` keys."""
    shown = ', '.join(keys[:SHOWN])
    return f'{what} ({len(keys)}): {shown}' + \
        (', ...' if len(keys) > SHOWN else '')


def mis_shaped(state: dict, own: dict) -> List[str]:
    """``'<key>: file <shape> vs model <shape>'`` for each tensor of
    ``state`` that ``own`` (a model's state dict) holds at another
    shape."""
    return [
        f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    ]


def _modules(keys: Sequence[str]) -> str:
    """The top-level modules of ``keys`` with their key counts."""
    counts = Counter(k.split('.')[0] for k in keys)
    return ', '.join(f'{m}.* ({n})' for m, n in counts.most_common(4)) + \
        (', ...' if len(counts) > 4 else '')


def likely_cause(missing: Sequence[str], unexpected: Sequence[str],
                 mis_shaped: Sequence[str]) -> str:
    """A guess at why the file does not fit, from the keys' names."""
    if missing and unexpected:
        # a wrapper's prefix (e.g. 'model.') on the file's first key that,
        # stripped, names at least half of the file's keys as the model's
        prefix = unexpected[0].split('.')[0] + '.'
        stripped = {k[len(prefix):] for k in unexpected
                    if k.startswith(prefix)}
        if len(stripped & set(missing)) >= len(unexpected) / 2:
            return (f'the file\'s keys carry the prefix {prefix!r} (saved '
                    f'from a wrapper): strip it')
        return (f'a checkpoint of another model: the file has '
                f'{_modules(unexpected)} where the model has '
                f'{_modules(missing)}; is it of this config?')
    if unexpected:
        return (f'the file holds modules the model lacks, '
                f'{_modules(unexpected)}: of a config with more parts '
                f'(other tasks, teachers, a decoder)?')
    if missing:
        return (f'the file holds no weights for {_modules(missing)}: a '
                f'checkpoint of part of the model (e.g. stage 1, without '
                f'the task heads)?')
    if mis_shaped:
        return ('the same layers at other sizes: the config differs from '
                'the one the file was trained with (e.g. num_classes, '
                'widths, crop size)')
    return ''


def describe_mismatch(name: str, missing: Sequence[str],
                      unexpected: Sequence[str],
                      mis_shaped: Sequence[str]) -> str:
    """``'<name> does not fit the model: ...'`` with counts, the first keys
    of each kind and :func:`likely_cause`."""
    parts = [listed(what, list(keys)) for what, keys in (
        ('keys the file lacks', missing),
        ('keys the model lacks', unexpected),
        ('tensors of other shapes', mis_shaped)) if keys]
    return (f'{name} does not fit the model: ' + '; '.join(parts) +
            f'. Likely: {likely_cause(missing, unexpected, mis_shaped)}')


def load_state_dict_checked(model: nn.Module, state: dict, name: str,
                            allow_missing: bool = False) -> List[str]:
    """``model.load_state_dict(state)`` through torch (the model's own load
    hooks apply), refusing a file that does not fit with
    :func:`describe_mismatch` (a ``RuntimeError``). Tensors of other shapes
    are found before anything is loaded (the keys the file lacks are then
    compared by name, without the model's load hooks).

    Args:
        allow_missing: Keys the file lacks keep their initialisation
            (returned) instead of being refused.

    Returns:
        The keys the file lacks (empty unless ``allow_missing``).
    """
    own = model.state_dict()
    wrong = mis_shaped(state, own)
    if wrong:  # what the file lacks by name (load hooks not applied)
        raise RuntimeError(describe_mismatch(
            name, [] if allow_missing else [k for k in own if k not in state],
            [k for k in state if k not in own], wrong))
    result = model.load_state_dict(state, strict=False)
    missing = [] if allow_missing else result.missing_keys
    if missing or result.unexpected_keys:
        raise RuntimeError(describe_mismatch(name, missing,
                                             result.unexpected_keys, []))
    return list(result.missing_keys)
