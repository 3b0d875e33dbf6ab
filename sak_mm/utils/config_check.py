# Copyright (c) sak_mm contributors. All rights reserved.
"""Config mistakes found before anything is built: a key that nothing
reads, an argument a class does not take, a value of the wrong type, each
named by its key path (``model.heads.semseg.num_classes``).

mmengine reads the top-level keys it knows and ignores the rest, so
``optim_wraper = dict(...)`` or ``--cfg-options randomnes.seed=1`` trains
with the defaults; and a wrong-typed value fails deep in a library, if at
all, without saying which key it came from. :func:`check_config` (called
by :meth:`sak_mm.engine.SAKRunner.from_cfg`) stops on a misspelt top-level
key, an unknown argument or a wrong-typed value, listing them all, and
logs the other top-level keys that nothing reads.
"""
import ast
import collections.abc
import difflib
import inspect
import logging
import os.path as osp
import types
import typing
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from mmengine.logging import print_log

#: top-level keys read by mmengine's Runner and by sak_mm's tools
READ_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'activation_checkpointing', 'compile', 'efficient_conv_bn_eval',
    'find_unused_parameters', 'model_wrapper_cfg', 'sync_bn', 'runner_type',
    'custom_imports', 'tensorboard', 'fused_kernels', 'tasks', 'load_strict',
    'resume_allow_changes'
})

#: modules whose annotations are checked (sak_mm's own, and the few library
#: ones a config commonly sets, whose annotations are exact); elsewhere only
#: argument names are, as third-party annotations are often looser than
#: what the code accepts (mmengine's ``AmpOptimWrapper.loss_scale: str``
#: takes a dict too)
_TYPED_MODULES = ('sak_mm.', 'projects.', 'torch.utils.data.',
                  'mmengine.runner.loops', 'mmengine.runner.utils')

#: keys that mmengine's builders consume before building, by kind
_BUILDER_KEYS = {
    'optim_wrapper': {'constructor', 'paramwise_cfg'},
    'scheduler': {'convert_to_iter_based'},
}

#: data loader keys mmengine consumes before calling torch's DataLoader
_LOADER_OWN_KEYS = {
    'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
    'num_batch_per_epoch', 'disable_subprocess_warning'
}


class ConfigError(ValueError):
    """A config holds keys that nothing reads, arguments a class does not
    take or values of the wrong type."""


def _assigned_names(path: str) -> Set[str]:
    """Top-level names a Python config file assigns."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign,
                                                ast.AugAssign)) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _inherited_keys(cfg) -> Set[str]:
    """Top-level keys the config's ``_base_`` files define and the config
    file itself does not set (helpers such as ``train_pipeline`` or
    reference tables, which a config may leave unused)."""
    from mmengine.config import Config
    filename = getattr(cfg, 'filename', None)
    if not filename or not osp.isfile(filename):
        return set()
    keys = set()
    with open(filename) as f:
        tree = ast.parse(f.read(), filename)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:  # computed: its keys are not known here
                continue
            for base in [bases] if isinstance(bases, str) else bases:
                base_path = osp.join(osp.dirname(filename), base)
                if not osp.isfile(base_path):  # e.g. 'mmpretrain::...'
                    continue
                keys |= set(Config.fromfile(base_path).keys())
                keys |= _assigned_names(base_path)
    return keys - _assigned_names(filename)


def _normal(value):
    """Tuples as lists, config dicts as dicts, without ``_delete_`` marks:
    the form values are compared in."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k != '_delete_'}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _mentions(tree, value) -> bool:
    """Whether ``value`` (a helper variable's) occurs in ``tree``: an equal
    sub-tree, a dict whose items a dict of the tree holds (a helper merged
    into a ``_base_`` dict), or, for a string, part of a string."""
    if tree == value:
        return True
    if isinstance(value, str) and isinstance(tree, str):
        return value in tree
    if isinstance(value, dict) and isinstance(tree, dict) and value and \
            all(k in tree and tree[k] == v for k, v in value.items()):
        return True
    if isinstance(tree, dict):
        return any(_mentions(v, value) for v in tree.values())
    if isinstance(tree, list):
        return any(_mentions(v, value) for v in tree)
    return False


def unread_keys(cfg) -> List[str]:
    """Top-level keys nothing reads: not read by the Runner or the tools,
    not merely inherited from a ``_base_`` file, and with a value that
    occurs nowhere in what is read (a helper variable such as ``crop_size``
    is copied into the fields that use it; set in a config over a
    ``_base_`` that used it, it changes nothing, and is reported)."""
    plain = _normal(cfg.to_dict())
    read = {k: v for k, v in plain.items() if k in READ_KEYS}
    inherited = _inherited_keys(cfg)
    return sorted(
        key for key, value in plain.items()
        if key not in READ_KEYS and key not in inherited
        and not key.startswith('_') and not _mentions(read, value))


# --- arguments and their types -------------------------------------------


def _annotation_kinds(annotation) -> Optional[Set[type]]:
    """The plain Python types an annotation allows, or None where it says
    nothing checkable (a class, a callable, ``Any``...)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = set()
        for arg in typing.get_args(annotation):
            sub = _annotation_kinds(arg)
            if sub is None:
                return None
            kinds |= sub
        return kinds
    target = origin or annotation
    if target in (int, float, bool, str, type(None)):
        return {target}
    if target in (list, tuple, collections.abc.Sequence):
        return {list, tuple, str}
    if target in (dict, collections.abc.Mapping):
        return {dict}
    return None


def _fits(value, kinds: Set[type]) -> bool:
    if value is None:  # "not set": defaults of None are rarely annotated
        return True
    if isinstance(value, bool):
        return bool in kinds or int in kinds or float in kinds
    if isinstance(value, int):
        return int in kinds or float in kinds
    if isinstance(value, float):
        return float in kinds or (int in kinds and value.is_integer())
    if isinstance(value, str):
        return str in kinds
    if isinstance(value, (list, tuple)):
        return list in kinds or tuple in kinds
    if isinstance(value, dict):
        return dict in kinds
    return True


def _describe(kinds: Set[type]) -> str:
    names = sorted({'list or tuple' if k in (list, tuple) else k.__name__
                    for k in kinds if k is not type(None)})
    return ' or '.join(names)


def _evaluated(annotation, function):
    """A string annotation (``from __future__ import annotations``)
    evaluated in its function's module; unresolvable ones say nothing."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(function, '__globals__', {}))
    except Exception:
        return inspect.Parameter.empty


def _own_parameters(function) -> Optional[Tuple[Dict[str, tuple], bool]]:
    """``{name: (annotation, module)}`` of a function's named parameters
    and whether it takes ``**kwargs``; None where it has no signature."""
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None
    module = getattr(function, '__module__', '') or ''
    named = {
        k: (_evaluated(p.annotation, function), module)
        for k, p in params.items() if k != 'self'
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return named, any(p.kind == p.VAR_KEYWORD for p in params.values())


def _KWARGS_GO_TO() -> dict:
    """Classes whose ``**kwargs`` are passed on to a function other than a
    base class's ``__init__``: mmengine's ``CheckpointHook`` hands them to
    every ``Runner.save_checkpoint`` call (so a misspelt one fails at the
    first save, after the first interval of training)."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner
    return {CheckpointHook: Runner.save_checkpoint}


def _parameters(target) -> Optional[Tuple[Dict[str, tuple], bool]]:
    """The arguments ``target`` takes, with their annotations: for a class
    whose ``__init__`` takes ``**kwargs``, also its bases' (the usual
    ``super().__init__(**kwargs)``) until one takes no ``**kwargs``; the
    flag says whether any name at all is taken."""
    if not inspect.isclass(target):
        return _own_parameters(target)
    named = {}
    for cls in target.__mro__:
        if '__init__' not in vars(cls):
            continue
        if cls is object:
            return named, True
        init = _KWARGS_GO_TO().get(cls)
        found = _own_parameters(vars(cls)['__init__'])
        if init is not None:  # its **kwargs are another function's
            extra = _own_parameters(init)
            found = ({**found[0], **extra[0]}, extra[1])
        if found is None:
            return None
        for key, value in found[0].items():
            named.setdefault(key, value)
        if not found[1]:
            return named, False
    return named, True


def check_arguments(target, kwargs: dict, path: str) -> List[str]:
    """Problems of calling ``target`` (a class or function) with
    ``kwargs``, each naming ``path.<key>``."""
    found = _parameters(target)
    if found is None:
        return []
    named, takes_any = found
    name = getattr(target, '__name__', str(target))
    problems = []
    for key, value in kwargs.items():
        where = f'{path}.{key}' if path else key
        if key not in named:
            if not takes_any:
                close = difflib.get_close_matches(key, named, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ''
                problems.append(f'{where}: {name} takes no argument '
                                f'{key!r}{hint}')
            continue
        annotation, module = named[key]
        kinds = _annotation_kinds(annotation) if \
            module.startswith(_TYPED_MODULES) else None
        if kinds is not None and not _fits(value, kinds):
            problems.append(f'{where}: {name} expects {_describe(kinds)}, '
                            f'got {type(value).__name__} {value!r}')
    return problems


def _registries() -> Dict[str, Any]:
    from sak_mm import registry as r
    return dict(model=r.MODELS, transform=r.TRANSFORMS, dataset=r.DATASETS,
                sampler=r.DATA_SAMPLERS, hook=r.HOOKS, metric=r.METRICS,
                optimizer=r.OPTIMIZERS, optim_wrapper=r.OPTIM_WRAPPERS,
                scheduler=r.PARAM_SCHEDULERS, loop=r.LOOPS,
                visualizer=r.VISUALIZERS, vis_backend=r.VISBACKENDS,
                log_processor=r.LOG_PROCESSORS)


#: child keys whose dicts are built from another registry than their
#: parent's (None: not checked; ``init_cfg`` dicts are initialiser specs)
_CHILD_REGISTRY = {
    'pipeline': 'transform', 'transforms': 'transform', 'dataset':
    'dataset', 'sampler': 'sampler', 'batch_sampler': 'sampler',
    'optimizer': 'optimizer', 'vis_backends': 'vis_backend', 'init_cfg':
    None, 'paramwise_cfg': None, 'constructor': None
}


def _built_dicts(value, path: str, kind: Optional[str]
                 ) -> Iterator[Tuple[str, str, dict]]:
    """Every ``dict(type=...)`` under ``value`` with its path and the kind
    of registry that builds it."""
    if isinstance(value, dict):
        if kind is not None and 'type' in value:
            yield path, kind, value
        for key, child in value.items():
            child_kind = _CHILD_REGISTRY.get(key, kind)
            yield from _built_dicts(child, f'{path}.{key}', child_kind)
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            yield from _built_dicts(child, f'{path}.{i}', kind)


def _resolve(registries, kind: str, type_name):
    if not isinstance(type_name, str):
        return type_name if callable(type_name) else None
    try:
        return registries[kind].get(type_name)
    except Exception:  # an unknown type: the build itself names it
        return None


def argument_problems(cfg) -> List[str]:
    """Unknown arguments and wrong-typed values of everything the Runner
    builds from ``cfg``, each named by its key path."""
    import torch.utils.data
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                 TestLoop, ValLoop)
    from mmengine.runner.utils import set_random_seed
    registries = _registries()
    plain = cfg.to_dict()
    sections = [('model', 'model'), ('custom_hooks', 'hook'),
                ('param_scheduler', 'scheduler'), ('visualizer', 'visualizer'),
                ('val_evaluator', 'metric'), ('test_evaluator', 'metric'),
                ('log_processor', 'log_processor')]
    todo = []
    for key, kind in sections:
        if plain.get(key) is not None:
            todo.extend(_built_dicts(plain[key], key, kind))
    for name, hook in (plain.get('default_hooks') or {}).items():
        if hook is not None:
            todo.extend(_built_dicts(hook, f'default_hooks.{name}', 'hook'))
    wrapper = plain.get('optim_wrapper')
    if isinstance(wrapper, dict):
        wrapper = dict(wrapper)
        wrapper.setdefault('type', 'OptimWrapper')
        todo.extend(_built_dicts(wrapper, 'optim_wrapper', 'optim_wrapper'))
    problems = []
    for split in ('train', 'val', 'test'):
        loader = plain.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        todo.extend(_built_dicts(loader, f'{split}_dataloader', None))
        problems += check_arguments(
            torch.utils.data.DataLoader,
            {k: v for k, v in loader.items() if k not in _LOADER_OWN_KEYS},
            f'{split}_dataloader')
    for path, kind, spec in todo:
        target = _resolve(registries, kind, spec['type'])
        if target is None:
            continue
        skip = _BUILDER_KEYS.get(kind, set()) | {'type', '_scope_'}
        problems += check_arguments(
            target, {k: v for k, v in spec.items() if k not in skip}, path)
    defaults = dict(train_cfg=None, val_cfg=ValLoop, test_cfg=TestLoop)
    for key, default in defaults.items():
        loop = plain.get(key)
        if not isinstance(loop, dict):
            continue
        loop = dict(loop)
        if 'type' in loop:
            target = _resolve(registries, 'loop', loop.pop('type'))
        elif key == 'train_cfg':
            target = EpochBasedTrainLoop if loop.pop('by_epoch', False) \
                else IterBasedTrainLoop
        else:
            target = default
        if target is not None:
            problems += check_arguments(target, loop, key)
    if isinstance(plain.get('randomness'), dict):
        problems += check_arguments(set_random_seed, plain['randomness'],
                                    'randomness')
    return problems


#: counts that must be at least 1: ``(key path, what it counts)``
_POSITIVE_COUNTS = (
    ('train_cfg.max_iters', 'iterations to train'),
    ('train_cfg.max_epochs', 'epochs to train'),
    ('train_cfg.val_interval', 'iterations (or epochs) between validations'),
    ('default_hooks.logger.interval', 'iterations between log lines'),
)
#: optimizer arguments that must be real numbers
_NUMERIC_OPTIMIZER_ARGS = ('lr', 'weight_decay', 'momentum', 'eps')


def value_at(cfg, path: str):
    """The value at a dotted key path of a config, or None."""
    value = cfg
    for part in path.split('.'):
        try:
            value = value[part]
        except (KeyError, TypeError, IndexError):
            return None
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_problems(cfg) -> List[str]:
    """Counts below 1 (``max_iters=0`` trains nothing and says nothing;
    ``val_interval=0`` divides by zero after an iteration) and optimizer
    numbers of the wrong type (a string lr fails inside the scheduler),
    by key path."""
    problems = []
    for path, meaning in _POSITIVE_COUNTS:
        value = value_at(cfg, path)
        # (other types are the argument check's to name)
        if _is_number(value) and value < 1:
            problems.append(f'{path}: expects a whole number >= 1 ({meaning})'
                            f', got {value!r}')
    interval = value_at(cfg, 'default_hooks.checkpoint.interval')
    if _is_number(interval) and (interval == 0 or interval < -1):
        problems.append(f'default_hooks.checkpoint.interval: expects a whole '
                        f'number >= 1 (iterations or epochs between '
                        f'checkpoints) or -1 (none), got {interval!r}')
    optimizer = value_at(cfg, 'optim_wrapper.optimizer') or {}
    for name in _NUMERIC_OPTIMIZER_ARGS:
        if name in optimizer and not _is_number(optimizer[name]):
            problems.append(f'optim_wrapper.optimizer.{name}: expects a '
                            f'number, got {optimizer[name]!r}')
    betas = optimizer.get('betas')
    if betas is not None and not (isinstance(betas, (list, tuple))
                                  and len(betas) == 2
                                  and all(_is_number(b) for b in betas)):
        problems.append(f'optim_wrapper.optimizer.betas: expects two '
                        f'numbers, got {betas!r}')
    return problems


def check_config(cfg) -> None:
    """Stop on config mistakes before anything is built.

    Raises:
        ConfigError: A top-level key nothing reads that is close to one
            that is read (a misspelling, with the key meant), arguments a
            class does not take, values of the wrong type, counts below 1
            (iterations, intervals) and non-numeric optimizer numbers (all
            of them, by key path). Other unread top-level keys are logged as
            a warning.
    """
    where = getattr(cfg, 'filename', None) or 'the config'
    problems = []
    unread = unread_keys(cfg)
    for key in unread:
        close = difflib.get_close_matches(key, READ_KEYS, n=1, cutoff=0.8)
        if close:
            problems.append(f"{key}: nothing reads this top-level key "
                            f"(did you mean '{close[0]}'?)")
    others = [k for k in unread if not any(
        p.startswith(f'{k}:') for p in problems)]
    if others:
        print_log(
            f'{where}: nothing reads the top-level key(s) {others}, and their '
            'values occur nowhere in what is built (a variable set in a '
            'config does not change the _base_ fields computed from it: set '
            'those fields instead)', logger='current', level=logging.WARNING)
    problems += argument_problems(cfg) + value_problems(cfg)
    if problems:
        raise ConfigError(f'{where}:\n  ' + '\n  '.join(problems))
