# Copyright (c) sak_mm contributors. All rights reserved.
"""A checkpoint that does not fit is summarised: counts, first keys, the
likely cause."""
import pytest
import torch
import torch.nn as nn

from sak_mm.utils.state_dict_mismatch import (describe_mismatch,
                                              likely_cause,
                                              load_state_dict_checked)


def model():
    net = nn.Module()
    net.backbone = nn.Sequential(*[nn.Linear(4, 4) for _ in range(30)])
    net.heads = nn.ModuleDict(
        dict(semseg=nn.Linear(4, 3), depth=nn.Linear(4, 1)))
    return net


def test_likely_causes():
    state = model().state_dict()
    own = list(state)
    assert 'prefix \'model.\'' in likely_cause(
        own, [f'model.{k}' for k in own], [])
    assert 'another model: the file has decoder.* (2)' in likely_cause(
        own, ['decoder.a', 'decoder.b'], [])
    assert 'no weights for heads.* (4)' in likely_cause(
        [k for k in own if k.startswith('heads')], [], [])
    assert 'modules the model lacks, teachers.* (1)' in likely_cause(
        [], ['teachers.x'], [])
    assert 'other sizes' in likely_cause([], [], ['heads.semseg.weight'])


def test_load_refuses_with_a_summary_and_loads_what_fits():
    net = model()
    other = {f'decoder.{i}.weight': torch.zeros(4, 4) for i in range(64)}
    with pytest.raises(RuntimeError) as error:
        load_state_dict_checked(net, other, 'other.pth')
    message = str(error.value)
    assert message.startswith('other.pth does not fit the model: keys the '
                              'file lacks (64): backbone.0.weight')
    assert 'keys the model lacks (64)' in message and ', ...' in message
    assert len(message) < 700  # not 128 keys
    assert 'Likely: a checkpoint of another model' in message

    state = model().state_dict()
    state['heads.semseg.weight'] = torch.zeros(5, 4)
    with pytest.raises(RuntimeError, match=r'tensors of other shapes \(1\): '
                       r'heads.semseg.weight: file \(5, 4\) vs model \(3, 4\)'
                       r'. Likely: the same layers at other sizes'):
        load_state_dict_checked(net, state, 'wide.pth')
    assert not torch.equal(net.heads.depth.weight, state['heads.depth.weight'])

    partial = {k: v for k, v in model().state_dict().items()
               if k.startswith('backbone')}
    with pytest.raises(RuntimeError, match='no weights for heads'):
        load_state_dict_checked(net, partial, 'stage1.pth')
    missing = load_state_dict_checked(net, partial, 'stage1.pth',
                                      allow_missing=True)
    assert sorted(missing) == sorted(k for k in net.state_dict()
                                     if k.startswith('heads'))
    assert torch.equal(net.backbone[0].weight, partial['backbone.0.weight'])
    assert describe_mismatch('f', [], [], ['a']).startswith(
        'f does not fit the model: tensors of other shapes (1): a.')
