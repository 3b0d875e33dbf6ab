# Copyright (c) sak_mm contributors. All rights reserved.
"""Config helpers for tools that build models without their weight files."""
import copy

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
