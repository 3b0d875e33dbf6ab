# Copyright (c) sak_mm contributors. All rights reserved.
"""Two-process training on CPUs (gloo): tools/dist_train.sh trains and
resumes the demo, and the two replicas end identical."""
import os
import os.path as osp
import random
import subprocess
import sys

import pytest
import torch

from sak_mm.datasets import make_demo_nyud
from sak_mm.utils import load_checkpoint_file
from tests.test_engine.demo_run import DEMO, ROOT, options


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp('rooms')
    return str(make_demo_nyud(str(root), num_train=8, num_val=2,
                              size=(60, 80), seed=4))


def env():
    # PYTHONFAULTHANDLER: a rank that aborts prints where it was (a rare
    # abort at the end of a run is not understood yet, see leave_process_group)
    return dict(os.environ, PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES='',
                PORT=str(random.randint(20000, 40000)),
                PYTHONFAULTHANDLER='1')


def run(cmd):
    proc = subprocess.run(cmd, env=env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    return proc.stdout + proc.stderr


def test_dist_train_sh_trains_and_resumes_on_two_cpu_processes(
        rooms, tmp_path):
    work = str(tmp_path / 'work')
    opts = options(rooms, iters=2, keep=3, validate=False)
    run(['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', work,
         '--cfg-options'] + [f'{k}={v}' for k, v in opts.items()])
    assert load_checkpoint_file(osp.join(work, 'iter_2.pth'))['meta'][
        'iter'] == 2
    # a longer run: the schedule continues as saved (its end stays 2)
    opts = dict(options(rooms, iters=4, keep=3, validate=False),
                resume_allow_changes=True)
    out = run(['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', work,
               '--resume', '--cfg-options'] +
              [f'{k}={v}' for k, v in opts.items()])
    assert 'last_checkpoint names' in out
    assert load_checkpoint_file(osp.join(work, 'iter_4.pth'))['meta'][
        'iter'] == 4


LAUNCH = '''
import sys
sys.path.insert(0, {root!r})
import tests.test_engine.replica_dump
from mmengine.config import Config
from sak_mm.engine import SAKRunner
cfg = Config.fromfile({config!r})
cfg.merge_from_dict({opts!r})
cfg.launcher = 'pytorch'
cfg.work_dir = {work!r}
cfg.custom_hooks = [dict(type='ReplicaDumpHook')]
SAKRunner.from_cfg(cfg).train()
'''


def test_cpu_replicas_stay_identical(rooms, tmp_path):
    """Gradients are all-reduced over gloo, so both processes end with the
    same parameters, the checkpoint's; BN statistics are broadcast from
    rank 0 before each forward (no SyncBN on CPUs), so rank 0's buffers are
    the checkpoint's and every forward starts from them."""
    work = str(tmp_path / 'work')
    script = tmp_path / 'launch.py'
    script.write_text(LAUNCH.format(root=ROOT, config=DEMO, work=work,
                                    opts=options(rooms, iters=3, keep=3,
                                                 validate=False)))
    port = env()['PORT']
    run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={port}', str(script)])
    replicas = [torch.load(osp.join(work, f'replica_{r}.pth'),
                           weights_only=True) for r in (0, 1)]
    saved = load_checkpoint_file(osp.join(work, 'iter_3.pth'))['state_dict']
    assert replicas[0].keys() == replicas[1].keys() == saved.keys()
    params = {n for n, _ in _student_parameters()}
    assert params and params <= set(saved)
    for key, value in replicas[0].items():
        assert torch.equal(value, saved[key]), key
        if key in params:
            assert torch.equal(value, replicas[1][key]), key


def _student_parameters():
    from mmengine.config import Config

    from sak_mm.registry import MODELS
    from sak_mm.utils import load_config, set_build_teachers
    cfg = load_config(Config.fromfile(DEMO))
    set_build_teachers(cfg.model, False)
    return MODELS.build(cfg.model).named_parameters()
