# Copyright (c) sak_mm contributors. All rights reserved.
"""The speed switches change how the student is computed, never what: the
fused kernels, activation checkpointing and the fast predict path give the
eager model's losses, gradients and predictions (fp32, on the CPU through
Triton's interpreter; on CUDA with the compiled kernels)."""
import copy

import pytest
import torch

from sak_mm import ops
from sak_mm.memory import RecomputeScope, policies
from sak_mm.ops import adapter
from sak_mm.registry import MODELS
from tests.conftest import assert_same, saved_bytes, tiny_sak_cfg
from tests.test_models.test_distiller import (assert_identical_steps,
                                               make_batch)
from tests.test_models.test_tsap import build_backbone

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
    cfg['backbone'] = dict(cfg['backbone'], fused_kernels=True)
    cfg['neck'] = dict(cfg['neck'], fused_kernels=True)
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


@pytest.mark.parametrize('amp', [False, True])
def test_fused_adapters_keep_no_stacked_weights(monkeypatch, amp):
    """The fused adapters' stacked weights are rebuilt from the parameters
    for backward instead of being kept (stacked, or cast under autocast);
    the gradients are those of keeping them."""
    torch.manual_seed(0)
    bb = build_backbone(fused_kernels=True).to(DEVICE)
    x = torch.randn(2, 3, 48, 64, device=DEVICE)

    def scoped(inputs):
        with RecomputeScope():  # inside the counting hooks, so it acts
            return bb(inputs)

    def run():
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=amp):
            kept, out = saved_bytes(scoped, x, params=bb.parameters())
        loss = sum(m.float().square().sum()
                   for maps in out['tsap'].values() for m in maps)
        return kept, torch.autograd.grad(loss, list(bb.parameters()))

    lean, grads = run()
    # unregistered, the kernel keeps the fp32 stacks it is given
    monkeypatch.setattr(adapter, '_stacked', lambda *w: torch.stack(w))
    plain, ref = run()
    down = bb.adapters['sam'][0].down.weight
    stacks = len(bb.adapters['sam']) * 2 * 3 * down.numel() * 4
    assert plain - lean == stacks
    for g, r in zip(grads, ref):
        assert_same(g, r, DEVICE)


def test_heads_keep_no_bf16_copies_of_the_mor_mixtures(monkeypatch):
    """Fused MoR mixtures are rebuilt from the inputs the kernel keeps, so
    the heads' bf16 copies of them are cast again in backward instead of
    being kept; losses and gradients are those of keeping them."""
    model = build(fused_cfg())
    plain_model = copy.deepcopy(model)  # BN statistics move per step
    data = model.data_preprocessor(make_batch(), True)

    def step(m):
        torch.manual_seed(0)  # the routers' gating noise
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            kept, losses = saved_bytes(lambda: m(**data, mode='loss'),
                                       params=m.parameters())
        m.parse_losses(losses)[0].backward()
        return kept, losses, [p.grad for p in m.parameters()]

    lean, losses, grads = step(model)
    cast = policies.autocast_input
    monkeypatch.setattr(policies, 'autocast_input',
                        lambda x, rebuild=False: cast(x))
    plain, ref_losses, ref_grads = step(plain_model)
    b, (h, w), d = 2, (3, 4), model.backbone.embed_dims
    assert plain - lean == len(model.tasks) * 4 * b * h * w * d * 2
    for key in losses:
        assert_same(losses[key], ref_losses[key], DEVICE)
    for g, r in zip(grads, ref_grads):
        if g is not None or r is not None:
            assert_same(g, r, DEVICE)


def test_activation_checkpointing_keeps_the_gradients():
    eager = build(tiny_sak_cfg())
    cfg = tiny_sak_cfg()
    cfg['backbone'] = dict(cfg['backbone'], with_cp=True)
    ckpt = build(cfg)
    ckpt.load_state_dict(eager.state_dict())
    ckpt.teacher_models = eager.teacher_models
    calls = []
    block = ckpt.backbone.stem.layers[0]
    block_forward = block.forward  # (forward hooks don't see recomputation)

    def counting_forward(*args, **kwargs):
        calls.append(1)
        return block_forward(*args, **kwargs)

    block.forward = counting_forward
    assert_same_training_step(eager, ckpt)
    # block 0 ran in the forward pass and again (recomputed) in backward
    assert len(calls) == 2


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
    cfg = fused_cfg(neck=dict(type='MoRNeck', fused_kernels=True,
                              noise='image'))
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
