# Copyright (c) sak_mm contributors. All rights reserved.
"""Config helpers about a model's weight files: which a run reads, which
are missing, building without them (tools that need no trained weights)."""
import copy
import os
import os.path as osp
from typing import List, Optional, Tuple

#: keys of teacher / stem configs that point at weight files (every teacher
#: family reads its file through ``checkpoint``)
WEIGHT_KEYS = ('checkpoint', 'init_cfg')


def without_weight_files(model_cfg):
    """A copy of a model config with every weight file dropped (teachers'
    checkpoints, the stem's pretrained init): random weights, nothing read
    from disk. Used by the benchmark and FLOP-counting tools."""
    cfg = copy.deepcopy(model_cfg)
    teachers = list((cfg.get('teachers') or {}).values())
    backbone = cfg.backbone
    if backbone.get('teacher') is not None:  # frozen-teacher probing
        teachers.append(backbone.teacher)
    for teacher in teachers:
        for key in WEIGHT_KEYS:
            teacher.pop(key, None)
    if backbone.get('stem') is not None:
        backbone.stem.pop('init_cfg', None)
    backbone.pop('init_cfg', None)
    if cfg.pop('pretrained', None) is not None:
        cfg.pop('save_backbone', None)  # it needs the backbone's file
    return cfg


def set_build_teachers(model_cfg, build: bool) -> None:
    """Switch a distiller config's teachers on or off (``build_teachers``);
    a model without teachers (``MultiTaskEncoderDecoder``) is left as it
    is."""
    if 'teachers' in model_cfg:
        model_cfg.build_teachers = build


def teachers_without_weights(model_cfg) -> list:
    """Names of the config's teachers that name no weight file (random
    networks when built). A frozen-teacher probe's teacher is
    ``'backbone.teacher'``."""
    teachers = dict(model_cfg.get('teachers') or {})
    if (model_cfg.get('backbone') or {}).get('teacher') is not None:
        teachers['backbone.teacher'] = model_cfg.backbone.teacher
    return [name for name, teacher in teachers.items()
            if not (teacher.get('checkpoint') or teacher.get('pretrained'))]


#: where each kind of weight file is documented, by the start of its key
_WEIGHT_DOCS = (
    ('model.teachers.', 'docs/weights.md, section "Teachers"'),
    ('model.backbone.teacher.', 'docs/weights.md, section "Teachers"'),
    ('load_from', 'configs/sak/README.md, section "How to reproduce" (a '
     'stage-2 run starts from its stage-1 checkpoint)'),
    ('model.', 'docs/weights.md, section "Student stem"'),
)


def _is_local_file(value) -> bool:
    """A weight reference read from a local path (not a URL, not an
    open_clip tag such as ``'openai'``)."""
    return isinstance(value, str) and '://' not in value and (
        '/' in value or osp.splitext(value)[1] != '')


def weight_files(cfg, training: bool = True) -> List[Tuple[str, str]]:
    """``(key, path)`` of every local weight file a run of ``cfg`` reads.

    Teachers' ``checkpoint`` files are read when the model is built (unless
    ``build_teachers=False``), like a ``pretrained`` backbone that is not
    saved in checkpoints (``save_backbone=False``); ``init_cfg``
    checkpoints, ``pretrained`` backbones and ``load_from`` only by
    training (``training=True``).
    """
    model = cfg.model
    found = []

    def visit(node, path: str, when_built: bool) -> None:
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                visit(item, f'{path}.{i}', when_built)
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key == 'teachers' and node.get('build_teachers') is False:
                continue
            built = when_built
            if key == 'init_cfg':
                built = False
            elif key == 'pretrained' and path == 'model':  # the backbone's
                built = node.get('save_backbone') is False
            if key in ('checkpoint', 'pretrained') and \
                    _is_local_file(value):
                if built or training:
                    found.append((f'{path}.{key}', value))
            else:
                visit(value, f'{path}.{key}', built)

    visit(model, 'model', True)
    if training and _is_local_file(cfg.get('load_from')):
        found.append(('load_from', cfg.load_from))
    return found


def _project_of(config_file) -> Optional[str]:
    """The name of the ``projects/<name>`` folder of this repository that
    holds ``config_file``, if any."""
    if not config_file:
        return None
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    relative = osp.relpath(osp.abspath(config_file), root).split(os.sep)
    return relative[1] if relative[0] == 'projects' and \
        len(relative) > 2 else None


def check_weight_files(cfg, training: bool = True) -> None:
    """Stop before anything is built if weight files of
    :func:`weight_files` are missing, listing them all with where each is
    documented."""
    missing = [(key, path) for key, path in weight_files(cfg, training)
               if not osp.isfile(path)]
    if not missing:
        return
    lines = [f'{len(missing)} weight file(s) that '
             f'{cfg.filename or "the config"} reads are missing:']
    project = _project_of(cfg.filename)
    for key, path in missing:
        doc = next(d for start, d in _WEIGHT_DOCS if key.startswith(start))
        if key != 'load_from' and project is not None:
            doc = f'projects/{project}/README.md, section "Weights"'
        lines.append(f'  {key} = {path!r}  (see {doc})')
    lines.append('Put each file there, or point its key elsewhere with '
                 '--cfg-options KEY=FILE.')
    raise FileNotFoundError('\n'.join(lines))
