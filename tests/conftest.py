# Copyright (c) sak_mm contributors. All rights reserved.
import contextlib
import copy
import functools
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import pytest
import torch

# Without a GPU the Triton kernels of sak_mm.ops run in Triton's interpreter
# (read when the kernels are defined, so before sak_mm is imported).
if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')
from mmengine.registry import init_default_scope

from sak_mm.datasets import make_demo_nyud

init_default_scope('sak_mm')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

TINY_VIT = dict(
    embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)
CROP = (48, 64)


def tiny_stem(**kwargs):
    cfg = dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(TINY_VIT),
        img_size=CROP,
        patch_size=16,
        final_norm=False,
        out_type='raw')
    cfg.update(kwargs)
    return cfg


def tiny_teachers():
    """One tiny random-init teacher of each family, as each family declares
    it (``tiny_test_cfg``), at the input sizes the tests use."""
    from sak_mm.models.teachers import CLIPTeacher, DINOv2Teacher, SAMTeacher
    return dict(
        dinov2=dict(type='DINOv2Teacher', **DINOv2Teacher.tiny_test_cfg(),
                    img_size=28),
        clip=dict(type='CLIPTeacher', **CLIPTeacher.tiny_test_cfg(),
                  img_size=CROP),
        sam=dict(type='SAMTeacher', **SAMTeacher.tiny_test_cfg()))


NYUD_HEADS = dict(
    semseg=dict(
        type='SimpleHead',
        out_channels=40,
        loss=dict(type='PixelCrossEntropyLoss')),
    depth=dict(
        type='SimpleHead', out_channels=1, loss=dict(type='MaskedL1Loss')),
    normals=dict(
        type='SimpleHead',
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        type='SimpleHead',
        out_channels=1,
        loss=dict(type='BalancedBCELoss', loss_weight=50.0)),
)


#: CUDA too where there is one (cuDNN convolutions and BN, the GPU path);
#: there, bilinear upsampling's backward uses atomics, so gradients are
#: compared within rounding instead of bit for bit
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def assert_same(actual, expected, device):
    """Bit for bit on the CPU, within rounding on CUDA (see DEVICES)."""
    if device == 'cpu':
        assert torch.equal(actual, expected)
    else:
        torch.testing.assert_close(actual, expected)


@functools.lru_cache(maxsize=None)
def _memory_tool():
    """``tools/benchmarks/activation_memory.py`` as a module (loaded once)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'tools',
                        'benchmarks', 'activation_memory.py')
    spec = importlib.util.spec_from_file_location('activation_memory', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def kept_bytes(fn, *args, static=()):
    """Bytes that ``fn(*args)`` leaves alive for backward, counted as
    ``tools/benchmarks/activation_memory.py`` counts (every storage its ops
    create that outlives the call, the outputs included, each once; not
    those of ``static``, e.g. parameters), and the result."""
    skip = {t.untyped_storage().data_ptr() for t in static}
    created = _memory_tool().Created(skip, lambda: 'kept')
    with created:
        out = fn(*args)
    return sum(n for _, n in created.alive(skip).values()), out


def tiny_sak_cfg(**overrides):
    cfg = dict(
        type='SAKDistiller',
        backbone=dict(type='TSAPBackbone', stem=tiny_stem()),
        teachers=tiny_teachers(),
        neck=dict(type='MoRNeck'),
        heads=copy.deepcopy(NYUD_HEADS),
        data_preprocessor=dict(
            type='MultiTaskDataPreprocessor', pad_size=CROP))
    cfg.update(overrides)
    return cfg


def tiny_mtl_cfg(**overrides):
    """The multi-task baseline: the tiny ViT (TAS alone) under the same
    heads, no teachers."""
    cfg = dict(
        type='MultiTaskEncoderDecoder',
        backbone=dict(type='TASBackbone', stem=tiny_stem()),
        decoder=dict(type='TaskHeads', heads=copy.deepcopy(NYUD_HEADS)),
        data_preprocessor=dict(
            type='MultiTaskDataPreprocessor', pad_size=CROP))
    cfg.update(overrides)
    return cfg


def run_tool(path, *args, folder='tools'):
    """Run ``<folder>/<path>`` as ``python <folder>/<path> ARGS`` does."""
    with mock.patch.object(sys, 'argv', [path, *args]):
        runpy.run_path(osp.join(ROOT, folder, path), run_name='__main__')


def figure_layout(fig) -> dict:
    """Panel titles (in drawing order) and every other text of a Figure:
    legend entries and titles, colour bar labels, captions."""
    titles, texts = [], []
    for ax in fig.axes:
        if ax.get_title():
            titles.append(ax.get_title())
        for child in [ax] + list(ax.child_axes):
            texts += [child.get_xlabel()] + [t.get_text()
                                             for t in child.texts]
            legend = child.get_legend()
            if legend is not None:
                texts += [legend.get_title().get_text()] + [
                    t.get_text() for t in legend.get_texts()]
    return dict(titles=titles, texts=[t for t in texts if t])


@contextlib.contextmanager
def recorded_figures():
    """Collects the Figures :class:`MultiTaskVisualizer` draws inside the
    context (read them with :func:`figure_layout`)."""
    from sak_mm.visualization import multi_task_visualizer as module
    figures, draw = [], module.sample_figure

    def record(*args, **kwargs):
        figures.append(draw(*args, **kwargs))
        return figures[-1]

    with mock.patch.object(module, 'sample_figure', record):
        yield figures


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """A small demo NYUD-v2 dataset written once per test session."""
    root = tmp_path_factory.mktemp('nyud_demo')
    return str(make_demo_nyud(str(root), num_train=8, num_val=4,
                              size=(60, 80), seed=1))


@pytest.fixture(autouse=True, scope='session')
def _cache_in_tmp(tmp_path_factory):
    """Dataset caches go to a temp folder, never the user's home."""
    import os
    os.environ['SAK_MM_CACHE'] = str(tmp_path_factory.mktemp('cache'))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
