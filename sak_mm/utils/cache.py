# Copyright (c) sak_mm contributors. All rights reserved.
"""Where the toolbox writes what it was not told where to write: what it
can rebuild (dataset indices, compiled code) in the user's cache, never the
installed package; analysis outputs beside what they analyse."""
import os
import os.path as osp
from typing import Optional


def cache_dir(*parts: str) -> str:
    """``$SAK_MM_CACHE`` (default ``~/.cache/sak_mm``) joined with
    ``parts``."""
    root = os.environ.get('SAK_MM_CACHE') or osp.join(
        osp.expanduser('~'), '.cache', 'sak_mm')
    return osp.join(root, *parts)


def default_work_dir(config: str) -> str:
    """``work_dirs/<config name>``: the work dir of a config that names
    none and is given no ``--work-dir`` (mmseg's rule)."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0])


def analysis_dir(tool: str, source: Optional[str] = None,
                 config: Optional[str] = None) -> str:
    """Where an analysis tool writes by default: ``<tool>/`` beside what it
    analyses (a checkpoint or a saved JSON, i.e. in that run's work dir),
    else in the config's default work dir (:func:`default_work_dir`)."""
    if source is not None:
        return osp.join(osp.dirname(osp.abspath(source)), tool)
    if config is not None:
        return osp.join(default_work_dir(config), tool)
    return osp.join('work_dirs', tool)
