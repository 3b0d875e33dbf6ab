# Copyright (c) sak_mm contributors. All rights reserved.
"""tools/analysis/*, tools/benchmarks/*, tools/misc/browse_dataset.py,
tools/misc/print_config.py and test.py --show-dir."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from sak_mm import ops
from sak_mm.datasets import make_demo_nyud
from sak_mm.evaluation import teacher_bias_study
from sak_mm.registry import MODELS
from sak_mm.utils import apply_runtime_switches
from tests.conftest import ROOT, figure_layout, recorded_figures, run_tool

CONFIG = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
FGMOE_DEMO = osp.join(ROOT, 'projects', 'fgmoe', 'configs', 'demo',
                      'fgmoe_tiny_demo.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Demo rooms and a student checkpoint of the demo config."""
    tmp = tmp_path_factory.mktemp('tools')
    root = str(make_demo_nyud(str(tmp / 'rooms'), num_train=4, num_val=3,
                              seed=2))
    model = MODELS.build(Config.fromfile(CONFIG).model)
    ckpt = str(tmp / 'student.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, ckpt)
    opts = [f'{s}_dataloader.dataset.data_root={root}'
            for s in ('train', 'val', 'test')]
    opts += ['val_dataloader.num_workers=0', 'test_dataloader.num_workers=0']
    return dict(root=root, ckpt=ckpt, opts=opts, tmp=tmp,
                teachers=model.teacher_models)


def test_router_weights_tool_from_model_and_from_json(setup, capsys):
    out = str(setup['tmp'] / 'router')
    run_tool('analysis/router_weights.py', CONFIG, setup['ckpt'], '--out-dir',
             out, '--cfg-options', *setup['opts'])
    table = capsys.readouterr().out
    assert 'semseg' in table and 'block 4' in table and 'sam' in table
    for name in ('router_weights.json', 'router_weights.png',
                 'router_weights.pdf'):
        assert osp.getsize(osp.join(out, name)) > 0
    with open(osp.join(out, 'router_weights.json')) as f:
        summary = json.load(f)
    assert summary['num_images'] == 3
    png = np.asarray(Image.open(osp.join(out, 'router_weights.png')))
    assert png.shape[1] > png.shape[0] > 100  # four task panels side by side
    # titled by task in the model's order, a colour bar, what was measured
    from sak_mm.visualization import plot_router_weights
    fig = plot_router_weights(summary, str(setup['tmp'] / 'again.png'))
    assert [ax.get_title() for ax in fig.axes[:4]] == [
        'semseg', 'depth', 'normals', 'edge']
    assert fig.axes[4].get_ylabel() == 'mean gate score'
    assert fig.get_suptitle() == ('MoR gate scores (mean over 3 images, '
                                  'student.pth, val split)')

    # without --out-dir: beside the JSON (or checkpoint) it reads
    run_tool('analysis/router_weights.py', '--json',
             osp.join(out, 'router_weights.json'), '--formats', 'png')
    assert osp.exists(osp.join(out, 'router_weights', 'router_weights.png'))
    bad = setup['tmp'] / 'bad.json'
    bad.write_text('{"semseg/mIoU": 1.0}')
    with pytest.raises(ValueError, match='not a router-weights JSON'):
        run_tool('analysis/router_weights.py', '--json', str(bad))


def test_rep_similarity_tool_needs_the_teachers_weights(setup, capsys):
    out = str(setup['tmp'] / 'rep_similarity')  # beside the checkpoint
    args = [CONFIG, setup['ckpt']]
    # the demo's teachers name no files: random teachers are refused
    with pytest.raises(ValueError, match=r"\['dinov2', 'clip', 'sam'\] have "
                       r"none.*--teacher-weights dinov2=FILE clip=FILE "
                       r"sam=FILE"):
        run_tool('analysis/rep_similarity.py', *args, '--cfg-options',
                 *setup['opts'])
    weights = []
    for name, teacher in setup['teachers'].items():
        path = str(setup['tmp'] / f'teacher_{name}.pth')
        teacher.save_release_file(path)  # each family's released layout
        weights.append(f'{name}={path}')
    overall = []
    for _ in range(2):
        run_tool('analysis/rep_similarity.py', *args, '--teacher-weights',
                 *weights, '--cfg-options', *setup['opts'],
                 'model.teachers.clip.allow_torchscript=True')
        with open(osp.join(out, 'rep_similarity.json')) as f:
            summary = json.load(f)
        assert set(summary['teachers']) == {'dinov2', 'clip', 'sam'}
        assert summary['num_images'] == 3
        overall.append(summary['overall'])
    assert overall[0] == overall[1]  # the same teachers: the same answer
    assert 'overall' in capsys.readouterr().out


def test_teacher_bias_numbers_and_tool(tmp_path, capsys):
    base = {'semseg/mIoU': 50.0, 'depth/RMSE': 0.5, 'mtl/delta_m': 0.0}
    models = {
        'DINOv2': {'semseg/mIoU': 60.0, 'depth/RMSE': 0.45},
        'SAM': {'semseg/mIoU': 45.0, 'depth/RMSE': 0.55},
    }
    study = teacher_bias_study(base, models, baseline_name='ViT')
    dino = study['models']['DINOv2']
    # +20 % mIoU, RMSE 0.5 -> 0.45 is +10 % (lower is better)
    assert dino['improvement'] == pytest.approx(
        {'semseg/mIoU': 20.0, 'depth/RMSE': 10.0})
    assert dino['mu'] == pytest.approx(15.0)
    assert dino['sigma'] == pytest.approx(5.0)
    assert dino['mu_over_sigma'] == pytest.approx(3.0)
    assert study['models']['SAM']['mu'] == pytest.approx(-10.0)
    with pytest.raises(KeyError, match='SAM'):
        teacher_bias_study(base, {'SAM': {'semseg/mIoU': 1.0}},
                           metrics=['semseg/mIoU', 'depth/RMSE'])

    files = []
    for name, result in [('ViT', base)] + list(models.items()):
        path = tmp_path / f'{name}.json'
        path.write_text(json.dumps(result))
        files.append(f'{name}={path}')
    out = str(tmp_path / 'teacher_bias')  # beside the baseline's JSON
    run_tool('analysis/teacher_bias.py', '--baseline', files[0], '--model',
             files[1], '--model', files[2])
    printed = capsys.readouterr().out
    assert 'DINOv2' in printed and '3.0000' in printed
    assert osp.getsize(osp.join(out, 'teacher_bias.png')) > 0
    assert osp.getsize(osp.join(out, 'teacher_bias.pdf')) > 0


def test_browse_dataset_draws_pipeline_outputs(setup):
    out = str(setup['tmp'] / 'browse')
    with recorded_figures() as figures:
        run_tool('misc/browse_dataset.py', CONFIG, '--output-dir', out,
                 '--num', '3', '--cfg-options', *setup['opts'],
                 'tasks=[edge,semseg,depth,normals]')
    assert len(os.listdir(out)) == 3 and len(figures) == 3
    layout = figure_layout(figures[0])
    # one row (labels only) in the config's task order, keys below
    assert layout['titles'] == ['image', 'edge: ground truth',
                                'semseg: ground truth', 'depth: ground truth',
                                'normals: ground truth']
    assert 'wall' in layout['texts']  # NYUD class names


def test_test_tool_show_dir_draws_gt_and_predictions(setup):
    work = str(setup['tmp'] / 'show')
    with recorded_figures() as figures:
        run_tool('test.py', CONFIG, setup['ckpt'], '--work-dir', work,
                 '--show-dir', 'vis', '--cfg-options', *setup['opts'])
    files = sorted(os.listdir(osp.join(work, 'vis')))
    assert files == ['val_0000.png', 'val_0001.png', 'val_0002.png']
    layout = figure_layout(figures[0])
    assert layout['titles'] == ['image'] + [
        f'{task}: {row}' for task in ('semseg', 'depth', 'normals', 'edge')
        for row in ('ground truth', 'prediction')]
    assert {'wall', 'depth (m), grey: no measurement',
            'boundary probability, dark red: unannotated'
            } <= set(layout['texts'])


@pytest.fixture(scope='module')
def fgmoe_ckpt(setup):
    """A checkpoint of the FGMoE demo config (random init)."""
    import projects.fgmoe.fgmoe  # noqa: F401 (registers the decoder)
    fgmoe = Config.fromfile(FGMOE_DEMO)
    path = str(setup['tmp'] / 'fgmoe' / 'fgmoe.pth')
    os.makedirs(osp.dirname(path))
    torch.save({'state_dict': MODELS.build(fgmoe.model).state_dict()}, path)
    return path


def test_a_checkpoint_of_another_model_is_summarised(setup, fgmoe_ckpt):
    """tools/test.py and init_model on the FGMoE demo's weights: counts,
    the first keys and the likely cause, not every key."""
    from sak_mm.apis import init_model
    path = fgmoe_ckpt
    with pytest.raises(RuntimeError) as error:
        run_tool('test.py', CONFIG, path, '--work-dir',
                 str(setup['tmp'] / 'wrong'), '--cfg-options', *setup['opts'])
    message = str(error.value)
    assert len(message) < 1500, message
    assert message.startswith(f'{path} does not fit the model: keys the '
                              f'file lacks (')
    assert 'Likely: a checkpoint of another model: the file has ' in message
    with pytest.raises(RuntimeError, match='Likely: a checkpoint of another'):
        init_model(CONFIG, path)


@pytest.mark.parametrize('model', ['sak', 'fgmoe'])
def test_image_demo_draws_predictions_keys_and_routing(setup, fgmoe_ckpt,
                                                        model, tmp_path):
    """demo/image_demo.py on a folder of images, as a user calls it: a
    titled figure per image with each task's prediction and key, and the
    routing the image got (MoR gates; FGMoE's expert shares)."""
    images = tmp_path / 'images'
    images.mkdir()
    rooms = osp.join(setup['root'], 'images')
    for name in sorted(os.listdir(rooms))[:2]:
        (images / name).write_bytes(open(osp.join(rooms, name), 'rb').read())
    (images / 'notes.txt').write_text('not an image')
    config, ckpt = (CONFIG, setup['ckpt']) if model == 'sak' else \
        (FGMOE_DEMO, fgmoe_ckpt)
    with recorded_figures() as figures:
        run_tool('image_demo.py', config, ckpt, str(images), folder='demo')
    out = osp.join(osp.dirname(ckpt), 'image_demo')  # beside the checkpoint
    assert len(figures) == 2 and len(os.listdir(out)) == 2
    layout = figure_layout(figures[0])
    tasks = ['semseg', 'depth', 'normals', 'edge']
    routing = [f'{t}: MoR gates' for t in tasks] if model == 'sak' else \
        ['global MoE: share of tokens'] + [f'{t} MoE: share of tokens'
                                            for t in tasks]
    assert layout['titles'] == ['image'] + [f'{t}: prediction'
                                            for t in tasks] + routing
    from sak_mm.datasets.nyud import NYUD_CLASSES
    assert set(layout['texts']) & set(NYUD_CLASSES)  # the classes' names
    panels = [ax.images[0].get_array() for ax in figures[0].axes
              if ax.get_title() in routing]
    for values in panels:
        if model == 'sak':  # each level's gates over the experts sum to 1
            np.testing.assert_allclose(values.sum(0), 1, atol=1e-5)
        else:  # each token chooses top-3 of the routed experts
            assert values.sum() == pytest.approx(3, abs=1e-5)


def test_print_config_prints_and_saves_the_merged_config(tmp_path, capsys):
    saved = str(tmp_path / 'merged.py')
    run_tool('misc/print_config.py', CONFIG, '--cfg-options',
             'model.neck.mode=sum', 'train_cfg.max_iters=7', '--save-path',
             saved)
    printed = capsys.readouterr().out
    assert printed.startswith('Config:\n')
    assert "mode='sum'" in printed and 'max_iters=7' in printed
    merged = Config.fromfile(saved)  # the _base_ files are merged in
    assert merged.model.neck.mode == 'sum' and merged.train_cfg.max_iters == 7
    assert merged.model.heads.semseg.out_channels == 40


def test_tensorboard_switch_adds_the_backend():
    cfg = Config.fromfile(CONFIG)
    assert cfg.tensorboard is False
    assert apply_runtime_switches(cfg).visualizer.vis_backends == [
        dict(type='LocalVisBackend')
    ]
    cfg.tensorboard = True
    backends = apply_runtime_switches(cfg).visualizer.vis_backends
    assert [b['type'] for b in backends] == [
        'LocalVisBackend', 'TensorboardVisBackend'
    ]


@pytest.mark.parametrize('mode', ['train', 'infer'])
def test_benchmark_tool_reports_every_number(mode, capsys, tmp_path):
    def run(*options):
        run_tool('benchmarks/benchmark.py', CONFIG, '--mode', mode, '--batch',
                 '2', '--iters', '2', '--warmup', '1', '--amp', 'fp32',
                 '--device', 'cpu', *options)
        return capsys.readouterr().out

    out = run()
    for key in ('step time (median, ms)', 'images / s', 'peak memory',
                'FLOPs / image (GFLOP)', 'MFU', 'time split'):
        assert key in out
    if mode == 'train':
        assert 'teachers' in out and 'optimizer' in out

    def flops(text):
        line = next(x for x in text.splitlines() if x.startswith('FLOPs'))
        return float(line.split()[-1])

    # Triton kernels are invisible to the FLOP counter: counted eagerly
    table = tmp_path / 'rows.md'
    fused = run('--cfg-options', 'fused_kernels=True', '--markdown-row',
                str(table))
    assert flops(fused) == flops(out) > 0
    header, rule, row = table.read_text().splitlines()
    assert header.startswith('| config | options | mode |')
    cells = row.strip().strip('|').split('|')
    assert len(cells) == len(rule.strip('|').split('|')) == 11
    assert cells[0].strip() == 'sak_tiny_demo.py' and cells[2].strip() == mode

    # where the time goes: torch.profiler's table, and a Chrome trace
    trace = tmp_path / 'trace.json'
    profiled = run('--profile', '1', '--trace', str(trace))
    table = profiled.split('where the time of 1 profiled steps went')[1]
    assert 'Self CPU' in table and 'aten::' in table
    assert json.loads(trace.read_text())['traceEvents']
    assert 'fused_kernels=True' in cells[1]


@pytest.mark.skipif(not ops.HAS_TRITON, reason='triton is not installed')
def test_speed_check_runs_every_option_and_names_what_failed(
        capsys, monkeypatch):
    """The reduced check (CPU, tiny demo model) runs the default path and
    each option to the end: equal losses where the maths is the same; an
    option whose kernel fails to compile (here: too little shared memory,
    as on a smaller GPU) is a FAILED row naming the switch, not a crash,
    and the exit code says so."""
    from tests.test_ops.kernel_failures import fail_adapter_kernel
    fail_adapter_kernel(monkeypatch)
    with pytest.raises(SystemExit) as exit_code:
        run_tool('benchmarks/speed_check.py', '--reduced')
    assert exit_code.value.code == 1
    out = capsys.readouterr().out
    table = out.split('\noption ')[1].splitlines()
    rows = {line.split('  ')[0].strip(): line for line in table[1:]
            if line and not line.startswith(('fastest', 'FAILED'))}
    assert set(rows) == {'default', 'no checkpointing',
                         'stem with_cp=selective', 'fused_kernels',
                         'fused_kernels, no checkpointing'}
    for name in ('no checkpointing', 'stem with_cp=selective'):
        cells = rows[name].split()
        assert float(cells[-4]) == 0.0  # max |loss diff|: bit-identical
        assert cells[-1] == 'img/s'
    for name in ('fused_kernels', 'fused_kernels, no checkpointing'):
        assert 'FAILED: FusedKernelError' in rows[name]
        assert 'sak_mm::multi_adapter' in rows[name]
        assert 'fused_kernels=False' in rows[name]
    assert 'fastest: ' in out


def test_test_tool_saves_predictions_in_seism_layout(setup):
    work = str(setup['tmp'] / 'preds')
    run_tool('test.py', CONFIG, setup['ckpt'], '--work-dir', work,
             '--save-preds', 'preds', '--cfg-options', *setup['opts'])
    root = osp.join(work, 'preds')
    assert sorted(os.listdir(root)) == ['depth', 'edge', 'normals', 'semseg']
    edge = Image.open(osp.join(root, 'edge', 'img', 'val_0001.png'))
    assert edge.mode == 'L' and edge.size == (160, 120)
    seg = np.asarray(Image.open(osp.join(root, 'semseg', 'val_0001.png')))
    assert seg.max() < 40
    depth = np.load(osp.join(root, 'depth', 'val_0002.npy'))
    assert depth.shape == (120, 160) and depth.min() >= 0
    normals = Image.open(osp.join(root, 'normals', 'val_0000.png'))
    assert normals.mode == 'RGB'


def test_saved_boundaries_truncate_probabilities_like_the_reference(
        tmp_path):
    from sak_mm.engine.hooks import save_prediction
    prob = np.array([[[0.0, 0.5, 0.999, 1.0]]], np.float32)
    path = save_prediction('edge', prob, str(tmp_path), 'x')
    assert path.endswith(osp.join('edge', 'img', 'x.png'))
    assert np.asarray(Image.open(path)).tolist() == [[0, 127, 254, 255]]


def test_flop_counter_counts_attention_on_the_cpu():
    """torch's FlopCounterMode has formulas for the CUDA attention kernels
    only; the tools' counter gives the CPU kernel the same ones, and
    nn.MultiheadAttention's one-op inference fast path the FLOPs of the
    ops it replaces."""
    from sak_mm.utils import flop_counter
    b, heads, n, d = 2, 4, 49, 24
    q = torch.randn(b, heads, n, d, requires_grad=True)
    with flop_counter(display=False) as counter:
        out = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    forward = 4 * b * heads * n * n * d  # q k^T and p v, 2 FLOPs per MAC
    assert counter.get_total_flops() == forward
    with flop_counter(display=False) as counter:
        out.sum().backward()
    assert counter.get_total_flops() == 2.5 * forward
    mha = torch.nn.MultiheadAttention(24, 4, batch_first=True)
    x = torch.randn(b, n, 24)

    def mha_flops():
        with flop_counter(display=False) as counter:
            mha(x, x, x, need_weights=False)
        return counter.get_flop_counts()['Global']

    decomposed = mha_flops()  # training mode: projections and SDPA
    mha.eval()
    with torch.no_grad():
        fast = mha_flops()
    fast_path = torch.ops.aten._native_multi_head_attention
    assert list(fast) == [fast_path] and fast_path not in decomposed
    assert fast[fast_path] == sum(decomposed.values())


@pytest.mark.skipif(not ops.HAS_TRITON, reason='triton is not installed')
def test_flop_counter_counts_the_fused_adapter_as_the_eager_one():
    """The fused operator is one opaque node to torch's counter; its
    formula gives the eager adapters' count, forward and backward."""
    from sak_mm.utils import flop_counter
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    shapes = ((2, 5, 32), (3, 2, 5, 32), (3, 8, 32), (3, 8), (3, 32, 8),
              (3, 32), (3, ))
    inputs = [torch.randn(s, device=device) for s in shapes]
    counts = []
    for fn in (ops.multi_adapter_reference, ops.multi_adapter_triton):
        leaves = [t.clone().requires_grad_() for t in inputs]
        with flop_counter(display=False) as forward:
            out = fn(*leaves)
        with flop_counter(display=False) as backward:
            out.sum().backward()
        counts.append((forward.get_total_flops(),
                       backward.get_total_flops()))
    assert counts[0] == counts[1] == (4 * 3 * 10 * 32 * 8,
                                      8 * 3 * 10 * 32 * 8)


def test_get_flops_splits_params_and_macs_by_component(capsys):
    run_tool('benchmarks/get_flops.py', CONFIG, '--shape', '96', '128')
    out, err = capsys.readouterr()
    assert 'a MAC is one multiply-add' in out.splitlines()[0]
    # what it is doing, on stderr: a full-size config takes minutes
    assert err.splitlines()[-5:] == [
        f'building the model of {CONFIG} with random weights ...',
        'counting teacher dinov2 ...', 'counting teacher clip ...',
        'counting teacher sam ...', 'counting the student ...']
    rows = {line.split('  ')[0].strip(): line.split()[-4:]
            for line in out.splitlines()[3:]}
    assert set(rows) >= {'teacher dinov2', 'teacher clip', 'teacher sam',
                         'stem (TAS)', 'adapter paths (TSAP)', 'MoR neck',
                         'head semseg', 'student total'}
    assert rows['teacher sam'][1] == '0'  # frozen: nothing trainable
    model = MODELS.build(Config.fromfile(CONFIG).model)
    stem = sum(p.numel() for p in model.backbone.stem.parameters())
    assert float(rows['stem (TAS)'][0]) == pytest.approx(stem / 1e6, abs=0.01)
    heads = [float(v[2]) for k, v in rows.items() if k.startswith('head ')]
    assert all(h > 0 for h in heads)  # not rounded to 0 at this size
    # the stem's MACs: a ViT's linear layers and attention, one each
    stem = model.backbone.stem
    tokens = (96 // 16) * (128 // 16) + 1
    linear = sum(m.in_features * m.out_features
                 for m in stem.modules() if isinstance(m, torch.nn.Linear))
    attention = 2 * tokens * tokens * stem.embed_dims * len(stem.layers)
    assert float(rows['stem (TAS)'][3]) * 1e9 == pytest.approx(attention,
                                                             rel=1e-3)
    assert float(rows['stem (TAS)'][2]) * 1e9 >= tokens * linear + attention


@pytest.mark.skipif(not ops.HAS_TRITON, reason='triton is not installed')
def test_benchmark_ops_tool_runs_every_row(capsys):
    """Tiny shapes on the CPU (kernels in Triton's interpreter): the table
    has every op / pass / precision row and the kernels agree with eager;
    on a GPU a second table times CUDA-graph replays of every row."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    run_tool('benchmarks/benchmark_ops.py', '--device', device, '--batch', '2',
             '--tokens', '17', '--dims', '32', '--compile-backend', 'eager')
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()
            if line.startswith(('adapter', 'mor_mix'))]
    tables = 2 if device == 'cuda' else 1
    assert [r[:3] for r in rows] == [
        [op, p, amp] for op in ('adapter', 'mor_mix')
        for amp in ('bf16', 'fp32') for p in ('fwd', 'fwd+bwd')
    ] * tables
    assert 'nan' not in out and 'capture failed' not in out
    for row in rows:
        assert float(row[-1]) < (3e-2 if row[2] == 'bf16' else 1e-5), row


def test_activation_memory_tool_splits_what_backward_keeps(capsys):
    """Counts per component what the loss forward leaves alive for
    backward, including what selective checkpointing keeps: the stem
    blocks keep less with each form of ``with_cp``; under bf16 autocast the
    copies of weights are split out as the part that does not grow with
    the batch."""
    def kept(*options, batch=2, amp='fp32', exact=False):
        run_tool('benchmarks/activation_memory.py', CONFIG, '--batch',
                 str(batch), '--amp', amp, *(['--exact'] if exact else []),
                 *(['--cfg-options', *options] if options else []))
        lines = capsys.readouterr().out.splitlines()
        start = lines.index('kept for backward') + 1
        rows = {}
        for line in lines[start:]:
            if not line.startswith('  '):
                break
            label, value = line.strip().split(' MiB')[0].rsplit(None, 1)
            rows[label.strip()] = float(value)
        assert 'static' in lines and 'AdamW states' in '\n'.join(lines)
        return rows

    plain = kept('model.backbone.with_cp=False')
    selective = kept('model.backbone.with_cp=selective')
    full = kept('model.backbone.with_cp=True')
    for label in ('adapters (eager)', 'MoR neck', 'heads', 'losses and glue'):
        assert plain[label] > 0, label
        assert selective[label] == pytest.approx(plain[label]), label
    stem = [r['stem blocks'] for r in (plain, selective, full)]
    assert stem[0] > stem[1] > stem[2] > 0  # (full: the block inputs)
    copies = 'weight copies (once per step)'
    assert copies not in plain  # fp32: none

    # (the tool prints 0.1 MiB steps; a few small tensors do not scale)
    one, two = (kept(batch=b, amp='bf16') for b in (1, 2))
    assert one[copies] > 0 and one[copies] == pytest.approx(two[copies])
    per_image = [r['total'] - r[copies] for r in (one, two)]
    assert per_image[1] == pytest.approx(2 * per_image[0], rel=0.05)
    # bf16 products computed in fp32 and cast back count what the slow
    # bf16 kernels count, component by component
    assert kept(batch=1, amp='bf16', exact=True) == one