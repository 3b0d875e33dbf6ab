# Copyright (c) sak_mm contributors. All rights reserved.
"""Missing weight files are listed all at once, before anything is built,
each with where it is documented."""
import os.path as osp
from unittest import mock

import pytest

from sak_mm.apis import init_model
from sak_mm.utils import check_weight_files, load_config, weight_files
from tests.conftest import ROOT, run_tool

NYUD = osp.join(ROOT, 'configs', 'sak',
                'sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py')
STAGE1 = osp.join(ROOT, 'configs', 'sak',
                  'sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px.py')
FGMOE = osp.join(ROOT, 'projects', 'fgmoe', 'configs',
                 'fgmoe_swin-t_2xb4-40k_nyud-448x576.py')
TEACHERS = "docs/weights.md, section \"Teachers\""


def test_train_lists_every_missing_file_with_its_docs(tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkpoints/ folder here
    with mock.patch('sak_mm.engine.SAKRunner.__init__') as built, \
            pytest.raises(FileNotFoundError) as error:
        run_tool('train.py', NYUD, '--work-dir', str(tmp_path))
    built.assert_not_called()  # stopped before building anything
    message = str(error.value)
    assert message.startswith('4 weight file(s) that')
    for key, doc in (('model.teachers.dinov2.checkpoint', TEACHERS),
                     ('model.teachers.clip.checkpoint', TEACHERS),
                     ('model.teachers.sam.checkpoint', TEACHERS),
                     ('load_from', 'configs/sak/README.md')):
        line = next(x for x in message.splitlines() if f'{key} =' in x)
        assert doc in line
    # a file that is there is not listed
    (tmp_path / 'checkpoints' / 'teachers').mkdir(parents=True)
    (tmp_path / 'checkpoints' / 'teachers' /
     'sam_vit_l_0b3195.pth').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match='^3 weight file') as error:
        run_tool('train.py', NYUD, '--work-dir', str(tmp_path))
    assert 'sam.checkpoint' not in str(error.value)


def test_which_files_a_run_reads():
    # training reads the stem's ImageNet weights; building reads teachers
    stage1 = load_config(STAGE1)
    assert [k for k, _ in weight_files(stage1)] == [
        'model.backbone.stem.init_cfg.checkpoint',
        'model.teachers.dinov2.checkpoint', 'model.teachers.clip.checkpoint',
        'model.teachers.sam.checkpoint'
    ]
    assert len(weight_files(stage1, training=False)) == 3
    stage1.model.build_teachers = False  # testing: no teachers
    assert weight_files(stage1, training=False) == []
    # a backbone's pretrained file: read by training, or when built if
    # checkpoints leave the backbone out
    fgmoe = load_config(FGMOE)
    assert [k for k, _ in weight_files(fgmoe)] == [
        'model.pretrained.checkpoint']
    assert weight_files(fgmoe, training=False) == []
    fgmoe.model.save_backbone = False
    assert len(weight_files(fgmoe, training=False)) == 1
    fgmoe.model.pretrained = 'checkpoints/backbone.pth'  # as a string
    assert weight_files(fgmoe, training=False) == [
        ('model.pretrained', 'checkpoints/backbone.pth')]
    del fgmoe.model.save_backbone
    assert weight_files(fgmoe, training=False) == []
    # a project's weights point to the project's README
    with pytest.raises(FileNotFoundError,
                       match='projects/fgmoe/README.md, section "Weights"'):
        check_weight_files(load_config(FGMOE))


def test_init_model_with_teachers_lists_their_files():
    with pytest.raises(FileNotFoundError, match='^3 weight file'):
        init_model(NYUD, with_teachers=True)
