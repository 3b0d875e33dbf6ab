# Copyright (c) sak_mm contributors. All rights reserved.
"""A trained model as one ONNX graph, checked against PyTorch.

The graph is the model's ``'tensor'`` mode: normalised, padded images in
(what :class:`MultiTaskDataPreprocessor` makes of them), each task's logits
at the decoder's resolution out, then any per-sample fields the model
predicts besides (a SAK model's MoR gate scores, ``gate_scores.<task>``).
Exported with ``torch.onnx.export(..., dynamo=True)`` (``torch.export``,
then onnxscript); ``onnx``, ``onnxscript`` and ``onnxruntime`` are the
optional ``deploy`` extra.
"""
import json
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

#: the ONNX opset the export writes and is tested at
OPSET = 19


class TensorOutputs(nn.Module):
    """``model``'s inference path as a tuple of tensors, in the order of
    :attr:`output_names`: each task's logits (``model.tasks`` order), then
    each extra field per task (``'<field>.<task>'``)."""

    def __init__(self, model: nn.Module, example: torch.Tensor):
        super().__init__()
        self.model = model
        with torch.no_grad():
            _, extras = model.encode_decode(example)
        self.extras = [(field, task) for field, per_task in extras.items()
                       for task in per_task]
        self.output_names = list(model.tasks) + [
            f'{field}.{task}' for field, task in self.extras
        ]

    def forward(self, inputs: torch.Tensor):
        logits, extras = self.model.encode_decode(inputs)
        return tuple(logits[task] for task in self.model.tasks) + tuple(
            extras[field][task] for field, task in self.extras)


def _needs(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f'ONNX export needs {module}: pip install -e ".[deploy]" '
            f'(onnx, onnxscript, onnxruntime)') from error


def export_onnx(model: nn.Module,
                inputs: torch.Tensor,
                path: str,
                dynamic_batch: bool = False,
                metadata: Optional[Dict[str, str]] = None) -> List[str]:
    """Write ``model`` (in eval mode) as an ONNX graph at opset
    :data:`OPSET`.

    Args:
        model: A multi-task model (``encode_decode`` and ``tasks``).
        inputs: Example ``(B, 3, H, W)`` normalised images; the graph's
            input shape (``H`` and ``W`` are fixed: the position grid and
            windows are built for them).
        path: Where to write the ``.onnx`` file.
        dynamic_batch: Leave the batch size open (exported from a batch of
            two: ``torch.export`` fixes a batch of one).
        metadata: Strings stored as the model's metadata properties.

    Returns:
        The graph's output names.
    """
    _needs('onnxscript')
    graph = TensorOutputs(model.eval(), inputs).eval()
    dynamic_shapes = None
    if dynamic_batch:
        if inputs.shape[0] == 1:
            inputs = torch.cat([inputs, inputs.flip(-1)])
        dynamic_shapes = ({0: torch.export.Dim('batch')}, )
    with torch.no_grad():
        program = torch.onnx.export(
            graph, (inputs, ),
            dynamo=True,
            opset_version=OPSET,
            input_names=['inputs'],
            output_names=graph.output_names,
            dynamic_shapes=dynamic_shapes,
            verbose=False)
    program.model.metadata_props.update(metadata or {})
    program.save(path)
    return graph.output_names


def compare_with_onnxruntime(model: nn.Module, path: str,
                             inputs: torch.Tensor) -> Dict[str, dict]:
    """Run the graph at ``path`` with onnxruntime (CPU) and ``model`` with
    PyTorch on the same ``inputs``.

    Returns:
        ``{output name: dict(shape, max_abs, max_rel)}``, ``max_rel`` being
        the largest absolute difference over the largest absolute PyTorch
        value.
    """
    ort = _needs('onnxruntime')
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    graph = TensorOutputs(model.eval(), inputs)
    with torch.no_grad():
        expected = graph(inputs)
    names = [o.name for o in session.get_outputs()]
    if names != graph.output_names:
        raise ValueError(f'{path} outputs {names}, the model '
                         f'{graph.output_names}: a graph of another model?')
    got = session.run(None, {'inputs': inputs.numpy()})
    report = {}
    for name, ref, out in zip(names, expected, got):
        ref = ref.float().numpy()
        if out.shape != ref.shape:
            raise ValueError(f'{name}: onnxruntime gives {out.shape}, '
                             f'PyTorch {ref.shape}')
        diff = float(np.abs(out - ref).max())
        report[name] = dict(shape=list(ref.shape), max_abs=diff,
                            max_rel=diff / max(float(np.abs(ref).max()),
                                               1e-12))
    return report


def graph_metadata(model: nn.Module) -> Dict[str, str]:
    """What a deployer needs to feed the graph: the normalisation, the
    tasks, the config's file name."""
    pre = model.data_preprocessor
    return dict(
        tasks=json.dumps(list(model.tasks)),
        input='RGB, (x - mean) / std on the 0-255 scale, padded with 0 '
        'centred to the graph size',
        mean=json.dumps([round(float(v), 4) for v in pre.mean.flatten()]),
        std=json.dumps([round(float(v), 4) for v in pre.std.flatten()]),
        config=str(getattr(getattr(model, 'cfg', None), 'filename', '')))


def synthetic_inputs(model: nn.Module, shape: Sequence[int],
                     batch_size: int, seed: int = 0) -> torch.Tensor:
    """``batch_size`` different random ``uint8`` images of ``shape`` through
    the model's data preprocessor: the normalised batch the graph takes.

    Raises:
        ValueError: If the preprocessor pads them to another size (a size
            below the training crop, or not a multiple of its divisor).
    """
    rng = np.random.default_rng(seed)
    images = [
        torch.from_numpy(rng.integers(0, 256, (3, *shape), dtype=np.uint8))
        for _ in range(batch_size)
    ]
    inputs = model.data_preprocessor(dict(inputs=images))['inputs']
    if tuple(inputs.shape[-2:]) != tuple(shape):
        pre = model.data_preprocessor
        raise ValueError(
            f'the model pads images of {tuple(shape)} to '
            f'{tuple(inputs.shape[-2:])} (at least pad_size={pre.pad_size}, '
            f'a multiple of size_divisor={pre.size_divisor}): use '
            f'{tuple(inputs.shape[-2:])} as the graph size')
    return inputs
