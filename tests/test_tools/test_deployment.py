# Copyright (c) sak_mm contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py on the demo models, as a user runs it
(needs the ``deploy`` extra, which .ci/run installs)."""
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from sak_mm.apis.onnx_export import compare_with_onnxruntime, \
    synthetic_inputs
from sak_mm.registry import MODELS
from tests.conftest import ROOT, run_tool

ort = pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')

SAK_DEMO = osp.join(ROOT, 'configs', 'demo', 'sak_tiny_demo.py')
FGMOE_DEMO = osp.join(ROOT, 'projects', 'fgmoe', 'configs', 'demo',
                      'fgmoe_tiny_demo.py')
TASKS = ['semseg', 'depth', 'normals', 'edge']


def checked(printed: str) -> dict:
    """``{(batch, output): relative difference}`` of the tool's check."""
    rows, batch = {}, None
    for line in printed.splitlines():
        match = re.match(r'onnxruntime vs PyTorch, batch (\d+):', line)
        if match:
            batch = int(match.group(1))
        match = re.match(r'\s+(\S+)\s.*relative (\S+)$', line)
        if match:
            rows[batch, match.group(1)] = float(match.group(2))
    return rows


def test_sak_demo_exports_with_a_dynamic_batch(tmp_path, capsys):
    """The whole SAK student (stem, adapter paths, MoR routers, heads) as
    one graph with one output per task and the gates, matching PyTorch at
    batch sizes it was not exported at; a model with other weights does
    not match it."""
    model = MODELS.build(Config.fromfile(SAK_DEMO).model)
    ckpt = str(tmp_path / 'student.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    run_tool('pytorch2onnx.py', SAK_DEMO, ckpt, '--dynamic',
             folder='tools/deployment')
    rows = checked(capsys.readouterr().out)
    names = TASKS + [f'gate_scores.{t}' for t in TASKS]
    assert sorted(rows) == sorted((b, n) for b in (1, 3) for n in names)
    assert max(rows.values()) <= 1e-4

    path = str(tmp_path / 'student.onnx')  # beside the checkpoint
    session = ort.InferenceSession(path)
    assert [o.name for o in session.get_outputs()] == names
    assert session.get_inputs()[0].shape == ['batch', 3, 96, 128]
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta['tasks']) == TASKS
    assert json.loads(meta['mean']) == [123.675, 116.28, 103.53]

    other = MODELS.build(Config.fromfile(SAK_DEMO).model).eval()
    inputs = synthetic_inputs(other, (96, 128), 2)
    report = compare_with_onnxruntime(other, path, inputs)
    assert report['semseg']['shape'] == [2, 40, 24, 32]
    assert report['semseg']['max_rel'] > 1e-2
    # a size the model would pad is refused, with the size to use
    with pytest.raises(ValueError, match=r'use \(96, 128\) as the graph'):
        synthetic_inputs(other, (80, 100), 1)


def test_fgmoe_demo_exports_its_deformable_step_and_routing(tmp_path,
                                                            capsys):
    """The FGMoE demo (Swin, mixers' deformable sampling, top-K routed
    MoEs) at a fixed batch of 2; its offsets made non-zero, so the graph
    samples between pixels, not at the zero start."""
    from projects.fgmoe.fgmoe.deformable import ChannelwiseDeformConv
    cfg = Config.fromfile(FGMOE_DEMO)
    model = MODELS.build(cfg.model)
    convs = [m for m in model.modules()
             if isinstance(m, ChannelwiseDeformConv)]
    assert convs
    for conv in convs:
        torch.nn.init.normal_(conv.offset[1].weight, std=0.05)
    ckpt = str(tmp_path / 'fgmoe.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = str(tmp_path / 'exported' / 'fgmoe.onnx')
    run_tool('pytorch2onnx.py', FGMOE_DEMO, ckpt, '--batch-size', '2',
             '--out', out, folder='tools/deployment')
    rows = checked(capsys.readouterr().out)
    assert sorted(rows) == sorted((2, t) for t in TASKS)
    assert max(rows.values()) <= 1e-4
    assert ort.InferenceSession(out).get_inputs()[0].shape == [2, 3, 96, 128]


def test_the_3x3_deformable_option_exports_as_deform_conv(tmp_path):
    """The mixer's ``deform='3x3'`` (torchvision's deform_conv2d) becomes
    ONNX ``DeformConv``, which needs opset 19: the export's opset."""
    import onnx

    from projects.fgmoe.fgmoe.deformable import DeformableConv2d
    from sak_mm.apis.onnx_export import OPSET
    conv = DeformableConv2d(4).eval()
    torch.nn.init.normal_(conv.offset.weight, std=0.1)
    x = torch.randn(2, 4, 6, 8)
    path = str(tmp_path / 'deform.onnx')
    torch.onnx.export(conv, (x, ), path, dynamo=True, opset_version=OPSET,
                      verbose=False)
    assert 'DeformConv' in {n.op_type for n in onnx.load(path).graph.node}
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), conv(x),
                                   rtol=1e-4, atol=1e-5)
