# Copyright (c) sak_mm contributors. All rights reserved.
"""Every checkpoint path reads weights-only even with
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``: a checkpoint that would run code is
refused, naming the file, at tools/test.py, --resume, load_from,
init_model, an init_cfg, a teacher, a backbone and an http URL; checkpoints
of plain mmengine programs load; TorchScript only when the config says so.
"""
import functools
import http.server
import os
import os.path as osp
import subprocess
import sys
import threading

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from sak_mm.apis import init_model
from sak_mm.datasets import make_demo_nyud
from sak_mm.engine import SAKRunner
from sak_mm.models.utils.weights import (WeightsMismatchError,
                                         load_strict_weights, read_state_dict)
from sak_mm.registry import MODELS
from sak_mm.utils import UnsafeCheckpointError, load_checkpoint_file
from tests.conftest import tiny_teachers
from tests.test_engine.demo_run import DEMO, ROOT, options

REFUSED = 'a weights-only read refuses this checkpoint'


class RunsCode:
    """Pickles as a call of ``exec``: loading it unsafely writes a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("ran")', ))


class ReachesPastHistoryBuffer:
    """Pickles as ``getattr(HistoryBuffer, '__subclasses__')``: the one
    ``getattr`` a weights-only read of mmengine checkpoints allows is on
    HistoryBuffer's statistics methods."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__subclasses__'))


@pytest.fixture
def unsafe_env(monkeypatch):
    """The user's environment asks torch to unpickle everything."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'downloaded.pth'
    torch.save({'meta': {'payload': RunsCode(str(marker))},
                'state_dict': {}}, path)
    yield str(path)
    assert not marker.exists(), 'the checkpoint ran code'


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('rooms')
    return str(make_demo_nyud(str(root), num_train=4, num_val=2,
                              size=(60, 80), seed=5))


def demo_cfg(rooms, work, iters, **extra):
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(dict(options(rooms, iters), **extra))
    cfg.work_dir = str(work)
    return cfg


def run_tool(tool, *argv):
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', tool), *argv],
        env=dict(os.environ, PYTHONPATH=ROOT,
                 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'),
        capture_output=True, text=True, timeout=300)


def test_the_payload_runs_where_torch_is_told_to_unpickle(unsafe_env,
                                                          tmp_path):
    """The premise: a bare torch.load in this environment runs code."""
    marker = tmp_path / 'ran'
    torch.save({'meta': RunsCode(str(marker))}, tmp_path / 'x.pth')
    torch.load(tmp_path / 'x.pth')
    assert marker.read_text() == 'ran'


@pytest.mark.parametrize('payload', [
    pytest.param(lambda tmp: RunsCode(str(tmp / 'payload_ran')), id='exec'),
    pytest.param(lambda tmp: ReachesPastHistoryBuffer(), id='getattr')])
def test_checkpoint_files_are_read_weights_only(unsafe_env, tmp_path,
                                                payload):
    path = tmp_path / 'evil.pth'
    torch.save({'meta': payload(tmp_path)}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(str(path))
    assert str(path) in str(err.value) and REFUSED in str(err.value)
    assert ('global exec' in str(err.value)
            or "'__subclasses__'" in str(err.value))
    assert not (tmp_path / 'payload_ran').exists()


def test_test_tool_refuses_a_checkpoint_that_runs_code(malicious):
    out = run_tool('test.py', DEMO, malicious)
    assert out.returncode != 0
    assert f'{malicious}: {REFUSED} (it names the global exec)' in out.stderr


def test_resume_refuses_a_checkpoint_that_runs_code(malicious, tmp_path,
                                                    rooms):
    work = tmp_path / 'work'
    work.mkdir()
    target = work / 'iter_2.pth'
    target.write_bytes(open(malicious, 'rb').read())
    (work / 'last_checkpoint').write_text(str(target))
    out = run_tool('train.py', DEMO, '--work-dir', str(work), '--resume',
                   '--cfg-options',
                   *[f'{k}={v}' for k, v in options(rooms, 4).items()])
    assert out.returncode != 0
    assert f'{target}: {REFUSED} (it names the global exec)' in out.stderr
    assert not (tmp_path / 'payload_ran').exists()


def test_load_from_init_model_and_init_cfg_refuse_it(unsafe_env, malicious,
                                                     tmp_path, rooms):
    runner = SAKRunner.from_cfg(
        demo_cfg(rooms, tmp_path / 'work', 2, load_from=malicious))
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        runner.train()
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        init_model(DEMO, malicious)
    backbone = Config.fromfile(DEMO).model.backbone
    backbone.init_cfg = dict(type='Pretrained', checkpoint=malicious)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        MODELS.build(backbone).init_weights()


def test_teacher_and_backbone_weights_refuse_it(unsafe_env, malicious):
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        MODELS.build(dict(tiny_teachers()['dinov2'], checkpoint=malicious))
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        read_state_dict(malicious, allow_torchscript=True)


@pytest.fixture
def http_folder(tmp_path):
    """A local http server on ``tmp_path / 'served'``."""
    served = tmp_path / 'served'
    served.mkdir()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_urls_are_downloaded_then_read_weights_only(unsafe_env, monkeypatch,
                                                    tmp_path, http_folder,
                                                    malicious):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    served, url = http_folder
    torch.save({'state_dict': {'w': torch.arange(3.)}}, served / 'good.pth')
    served.joinpath('evil.pth').write_bytes(open(malicious, 'rb').read())
    good = load_checkpoint_file(f'{url}/good.pth')
    assert torch.equal(good['state_dict']['w'], torch.arange(3.))
    assert (tmp_path / 'torch_home' / 'hub' / 'checkpoints' /
            'good.pth').is_file()
    with pytest.raises(UnsafeCheckpointError,
                       match=f'{url}/evil.pth: {REFUSED}'):
        load_checkpoint_file(f'{url}/evil.pth')
    with pytest.raises(ValueError, match='give the file.s URL'):
        load_checkpoint_file('open-mmlab://resnet50_v1c')


def test_plain_mmengine_checkpoints_load_and_resume(unsafe_env, tmp_path,
                                                    rooms):
    """A checkpoint of mmengine's own Runner (``Runner.from_cfg(cfg)``,
    which ignores ``runner_type``) holds HistoryBuffers and a ``getattr``
    of their statistics methods: it is read, resumed and tested."""
    work = tmp_path / 'work'
    runner = Runner.from_cfg(demo_cfg(rooms, work, 2))
    assert type(runner) is Runner
    runner.train()
    ckpt = str(work / 'iter_2.pth')
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(ckpt)
    assert 'builtins.getattr' in unsafe
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    state = load_checkpoint_file(ckpt)
    assert isinstance(state['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    model = init_model(DEMO, ckpt)
    torch.testing.assert_close(model.state_dict()['heads.edge.cls.weight'],
                               state['state_dict']['heads.edge.cls.weight'])
    out = run_tool('test.py', DEMO, ckpt, '--work-dir', str(tmp_path / 't'),
                   '--cfg-options',
                   *[f'{k}={v}' for k, v in options(rooms, 2).items()])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'semseg/mIoU' in out.stdout + out.stderr
    resumed = SAKRunner.from_cfg(demo_cfg(rooms, work, 4, resume=True,
                                          resume_allow_changes=True))
    resumed.train()
    assert resumed.iter == 4
    history = load_checkpoint_file(str(work / 'iter_4.pth'))[
        'message_hub']['log_scalars']['train/loss']['history_buffer']
    assert len(history['logs']) == 4  # the loss history went on


class Holder(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.visual = torch.nn.Linear(2, 3)

    def forward(self, x):
        return self.visual(x)


def test_torchscript_is_read_only_when_the_config_allows_it(tmp_path):
    holder = Holder()
    path = tmp_path / 'ViT-tiny.pt'
    torch.jit.save(torch.jit.script(holder), str(path))
    with pytest.raises(WeightsMismatchError,
                       match='TorchScript archive.*allow_torchscript=True'):
        read_state_dict(str(path))
    state = read_state_dict(str(path), allow_torchscript=True)
    torch.testing.assert_close(state['visual.weight'], holder.visual.weight)
    target = torch.nn.Linear(2, 3)
    load_strict_weights(target, str(path), prefixes=('visual.', ),
                        allow_torchscript=True)
    torch.testing.assert_close(target.weight, holder.visual.weight)
    # a plain state dict reads the same with or without the flag
    torch.save(holder.state_dict(), tmp_path / 'plain.pth')
    assert read_state_dict(str(tmp_path / 'plain.pth'),
                           allow_torchscript=True).keys() == {
                               'visual.weight', 'visual.bias'}


def test_a_truncated_checkpoint_is_named(tmp_path):
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, whole)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(whole.read_bytes()[:2000])
    for read in (load_checkpoint_file, read_state_dict):
        with pytest.raises(RuntimeError,
                           match=f'{cut}: could not read this checkpoint'):
            read(str(cut))


def test_import_sak_mm_alone_makes_mmengine_reads_weights_only(malicious):
    """A script that imports the package and reads a file through
    mmengine's own loader (as mmengine-based code around sak_mm does)."""
    script = ('import sak_mm\n'
              'from mmengine.runner.checkpoint import CheckpointLoader\n'
              f'CheckpointLoader.load_checkpoint({malicious!r})\n')
    out = subprocess.run(
        [sys.executable, '-c', script], cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT,
                 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'),
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert f'{malicious}: {REFUSED}' in out.stderr
