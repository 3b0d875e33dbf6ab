# Copyright (c) sak_mm contributors. All rights reserved.
"""The image ids of a split file (``gt_sets/train.txt``,
``ImageSets/Context/val.txt``...)."""
import collections
from typing import List


def read_split(split_file: str) -> List[str]:
    """One id per non-empty line, in order. A file that lists no id, or an
    id twice (it would be trained on and scored twice), is refused naming
    the file and the repeated ids."""
    with open(split_file) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise ValueError(f'split file {split_file!r} lists no image')
    repeated = [i for i, n in collections.Counter(ids).items() if n > 1]
    if repeated:
        raise ValueError(
            f'split file {split_file!r} lists {len(repeated)} id(s) more than '
            f'once, e.g. {repeated[:5]}: each image would be trained on and '
            f'scored as often as it is listed; list each id once')
    return ids
