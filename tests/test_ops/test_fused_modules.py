# Copyright (c) sak_mm contributors. All rights reserved.
"""The speed layer changes how the student is computed, never what: the
fused module variants and the fast predict path give the eager model's
losses, gradients and predictions (fp32, on the CPU through Triton's
interpreter; on CUDA with the compiled kernels); the one config switch
selects them; a kernel that cannot run stops with a message naming the
switch."""
import copy
import os.path as osp

import pytest
import torch

from sak_mm import ops
from sak_mm.ops import modules
from sak_mm.registry import MODELS
from sak_mm.utils import load_config
from tests.conftest import tiny_sak_cfg
from tests.test_ops.kernel_failures import fail_adapter_kernel
from tests.test_models.test_distiller import (assert_identical_steps,
                                               make_batch)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
pytestmark = pytest.mark.skipif(
    not ops.HAS_TRITON, reason='triton is not installed')
CUDA = torch.cuda.is_available()
DEVICE = 'cuda' if CUDA else 'cpu'


@pytest.fixture(autouse=True)
def _ieee_fp32():
    """fp32 comparisons on a GPU: no TF32 in cuDNN convolutions or GEMMs."""
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    (torch.backends.cudnn.allow_tf32,
     torch.backends.cuda.matmul.allow_tf32) = saved


def build(cfg):
    return MODELS.build(cfg).to(DEVICE)


def fused_cfg(**overrides):
    cfg = tiny_sak_cfg(**overrides)
    cfg['backbone'] = dict(cfg['backbone'], type='FusedTSAPBackbone')
    cfg['neck'] = dict(cfg['neck'], type='FusedMoRNeck')
    return cfg


def loss_and_grads(model, data, seed=0):
    model.train()
    torch.manual_seed(seed)  # the routers' gating noise
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    model.zero_grad()
    total.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return losses, grads


def assert_same_training_step(model_a, model_b):
    data = model_a.data_preprocessor(make_batch(), True)
    losses_a, grads_a = loss_and_grads(model_a, data)
    losses_b, grads_b = loss_and_grads(model_b, data)
    assert losses_a.keys() == losses_b.keys()
    for key in losses_a:
        torch.testing.assert_close(losses_b[key], losses_a[key],
                                   rtol=1e-5, atol=1e-6, msg=key)
    assert grads_a.keys() == grads_b.keys()
    assert any(n.startswith('backbone.adapters.') for n in grads_a)
    assert any(n.startswith('neck.routers.') for n in grads_a)
    for name in grads_a:
        torch.testing.assert_close(grads_b[name], grads_a[name], rtol=1e-4,
                                   atol=1e-6, msg=name)


def test_fused_kernels_give_the_eager_training_step():
    eager = build(tiny_sak_cfg())
    fused = build(fused_cfg())
    fused.load_state_dict(eager.state_dict())  # same parameters and keys
    fused.teacher_models = eager.teacher_models
    assert_same_training_step(eager, fused)


def test_fused_kernels_give_the_eager_predictions():
    eager = build(tiny_sak_cfg(build_teachers=False)).eval()
    fused = build(fused_cfg(build_teachers=False)).eval()
    fused.load_state_dict(eager.state_dict())
    data = eager.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        out_a = eager(data['inputs'], mode='tensor')
        out_b = fused(data['inputs'], mode='tensor')
        preds = fused(**copy.deepcopy(data), mode='predict')
    for task in out_a:
        torch.testing.assert_close(out_b[task], out_a[task], rtol=1e-5,
                                   atol=1e-5)
    assert preds[0].gate_scores['semseg'].shape == (4, 4)


# inductor on a GPU; on the CPU the tracing backends only (inductor's C++
# build would take minutes): they run dynamo and AOTAutograd on our code.
TRAIN_BACKEND = dict() if CUDA else dict(backend='aot_eager')
PREDICT_BACKEND = dict(mode='reduce-overhead') if CUDA else dict(
    backend='eager')


def test_compiled_model_gives_the_eager_training_step_and_predictions():
    torch._dynamo.reset()
    cfg = fused_cfg()
    eager = build(cfg)
    compiled = build(dict(cfg, compile=dict(
        teachers=TRAIN_BACKEND, student=TRAIN_BACKEND,
        predict=PREDICT_BACKEND)))
    compiled.load_state_dict(eager.state_dict())
    for name, teacher in eager.teacher_models.items():
        compiled.teacher_models[name].load_state_dict(teacher.state_dict())
    assert set(compiled.state_dict()) == set(eager.state_dict())
    assert_same_training_step(eager, compiled)

    data = eager.data_preprocessor(make_batch(), False)
    eager.eval()
    compiled.eval()
    with torch.no_grad():
        expected = eager(**copy.deepcopy(data), mode='predict')
        for _ in range(3):  # CUDA graphs: warm-up, record, replay
            got = compiled(**copy.deepcopy(data), mode='predict')
    for a, b in zip(got, expected):
        for task in ('semseg', 'depth', 'normals', 'edge'):
            torch.testing.assert_close(a.pred.get(task), b.pred.get(task),
                                       rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(a.gate_scores['depth'],
                                   b.gate_scores['depth'])


@pytest.mark.skipif(CUDA, reason='inductor rounds bf16 elsewhere than '
                    'eager; the fp32 comparison covers CUDA')
def test_compiled_student_gives_the_eager_bf16_training_step():
    """Under autocast the operators' fake implementations give AOTAutograd
    the dtypes the kernels produce: the compiled student's bf16 losses and
    gradients are the eager ones, bit for bit (tracing backend). Noise per
    image: the per-pixel noise's broadcast sums its gradient over the
    pixels in another order once traced (within rounding; the fp32 test
    above covers it)."""
    torch._dynamo.reset()
    cfg = fused_cfg(neck=dict(type='FusedMoRNeck', noise='image'))
    eager = build(cfg)
    compiled = build(dict(cfg, compile=dict(student=TRAIN_BACKEND)))
    compiled.load_state_dict(eager.state_dict())
    compiled.teacher_models = eager.teacher_models
    data = eager.data_preprocessor(make_batch(), True)
    with torch.autocast(DEVICE, dtype=torch.bfloat16):
        assert_identical_steps(loss_and_grads(compiled, data),
                               loss_and_grads(eager, data))


def _graph_breaks(fn, *args):
    torch._dynamo.reset()
    explained = torch._dynamo.explain(fn)(*args)
    ops_seen = {str(node.target) for graph in explained.graphs
                for node in graph.graph.nodes if 'sak_mm' in str(node.target)}
    return explained.graph_break_count, ops_seen


def test_compile_traces_whole_graphs_with_the_fused_kernels():
    """Every part torch.compile is given traces as one graph: the fused
    kernels are registered operators (one opaque node each, not their
    launch code), and the ViTs' DropPath probabilities are plain floats
    (mmpretrain's numpy values were a data-dependent branch in every
    block: 13 graph breaks in this backbone)."""
    model = build(fused_cfg())
    data = model.data_preprocessor(make_batch(), True)
    inputs = data['inputs']
    model.train()
    assert _graph_breaks(model.backbone, inputs) == (
        0, {'sak_mm.multi_adapter.default'})
    feats = model.backbone(inputs)
    assert _graph_breaks(model.neck, feats['tas'], feats['tsap']) == (
        0, {'sak_mm.mor_mix.default'})
    for teacher in model.teacher_models.values():
        assert _graph_breaks(teacher, inputs)[0] == 0
    model.eval()
    with torch.no_grad():
        assert _graph_breaks(model._logits_and_gates, inputs) == (
            0, {'sak_mm.multi_adapter.default', 'sak_mm.mor_mix.default'})


def test_compile_rejects_unknown_targets():
    with pytest.raises(KeyError, match="unknown targets \\['heads'\\]"):
        MODELS.build(tiny_sak_cfg(compile=dict(heads=True)))


def test_the_switch_builds_the_variants_with_the_eager_weights(tmp_path):
    """``fused_kernels=True`` (the ``_base_/speed/fused.py`` mixin or
    --cfg-options) turns every module with a variant into it, and nothing
    else; an eager checkpoint loads strictly."""
    eager = load_config(DEMO)
    assert eager.model.backbone.type == 'TSAPBackbone'
    by_option = load_config(DEMO, dict(fused_kernels=True))
    mixin = tmp_path / 'fused_demo.py'
    mixin.write_text(f"_base_ = ['{DEMO}', "
                     f"'{ROOT}/configs/_base_/speed/fused.py']\n")
    for cfg in (by_option, load_config(str(mixin))):
        assert cfg.model.backbone.type == 'FusedTSAPBackbone'
        assert cfg.model.neck.type == 'FusedMoRNeck'
        assert cfg.model.heads == eager.model.heads
    # applying it twice (load_config, then the runner) changes nothing more
    again = copy.deepcopy(by_option)
    ops.apply_speed_layer(again)
    assert again.model == by_option.model

    cfg = fused_cfg(build_teachers=False)
    fused = MODELS.build(cfg)
    plain = MODELS.build(tiny_sak_cfg(build_teachers=False))
    assert type(fused.backbone).__name__ == 'FusedTSAPBackbone'
    assert isinstance(fused.backbone, type(plain.backbone))
    fused.load_state_dict(plain.state_dict(), strict=True)


def test_the_switch_refuses_what_it_cannot_apply():
    with pytest.raises(TypeError, match='fused_kernels must be True or '):
        load_config(DEMO, dict(fused_kernels='yes'))
    cfg = load_config(DEMO)
    cfg.fused_kernels = True
    cfg.model.backbone.type = 'MyBackbone'
    cfg.model.neck = None
    with pytest.raises(ValueError, match='none of the modules with fused'):
        ops.apply_speed_layer(cfg)


def test_without_triton_the_variants_name_the_switch(monkeypatch):
    monkeypatch.setattr(modules, 'HAS_TRITON', False)
    with pytest.raises(RuntimeError, match="triton is not installed.*"
                       "fused_kernels=False"):
        MODELS.build(fused_cfg(build_teachers=False))


def test_a_kernel_that_fails_to_compile_names_the_switch(monkeypatch):
    """A Triton error while compiling or launching becomes one error that
    says which kernel failed and how to train without the speed layer;
    other errors (e.g. out of memory) pass unchanged."""
    model = MODELS.build(fused_cfg(build_teachers=False)).to(DEVICE)
    inputs = torch.randn(1, 3, 48, 64, device=DEVICE)
    triton_error = fail_adapter_kernel(monkeypatch)
    with pytest.raises(ops.FusedKernelError) as error:
        model(inputs, mode='tensor')
    message = str(error.value)
    assert 'sak_mm::multi_adapter' in message
    assert 'out of resource: shared memory' in message
    assert 'fused_kernels=False' in message
    assert error.value.__cause__ is triton_error
    fail_adapter_kernel(monkeypatch, MemoryError('not a kernel problem'))
    with pytest.raises(MemoryError, match='not a kernel problem'):
        model(inputs, mode='tensor')


@pytest.mark.skipif(CUDA, reason='CPU tensors only')
def test_on_the_cpu_the_variants_compute_the_reference(monkeypatch):
    """Without the interpreter the kernels cannot take CPU tensors: the
    variants say so once and give the eager values."""
    monkeypatch.setenv('TRITON_INTERPRET', '0')
    monkeypatch.setattr(modules, '_warned', set())
    eager = MODELS.build(tiny_sak_cfg(build_teachers=False)).eval()
    fused = MODELS.build(fused_cfg(build_teachers=False)).eval()
    fused.load_state_dict(eager.state_dict())
    inputs = torch.randn(2, 3, 48, 64)
    with pytest.warns(UserWarning, match='eager references') as warned:
        fused(inputs, mode='tensor')
        out = fused(inputs, mode='tensor')
    assert len(warned) == 2  # once per variant, not per call
    expected = eager(inputs, mode='tensor')
    for task in expected:
        torch.testing.assert_close(out[task], expected[task])
