# Copyright (c) sak_mm contributors. All rights reserved.
"""Predict every task of a trained model on images and draw them.

    python demo/image_demo.py CONFIG CHECKPOINT IMAGE_OR_DIR \\
        [--out-dir DIR] [--device cpu]

One PNG per image: the image, then each task's prediction in the config's
task order, every panel titled, under each the key to its colours (class
names, depth in metres, the normal directions, boundary probability), and
the routing the image got: a SAK model's MoR gate scores per task, expert
and level, or a routed-expert decoder's (FGMoE) share of tokens per expert
of each task's MoE and of the global MoE. Without ``--out-dir`` the figures
go to ``image_demo/`` beside the checkpoint.
"""
import argparse
import contextlib
import os
import os.path as osp

from mmengine.config import DictAction

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', help='an image file or a folder of them')
    parser.add_argument('--out-dir',
                        help='output folder (default: image_demo/ beside '
                        'the checkpoint)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def image_files(path: str) -> list:
    """``path`` itself, or the images of the folder ``path``, sorted."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: no such image or folder')
    files = sorted(
        osp.join(path, f) for f in os.listdir(path)
        if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise FileNotFoundError(f'{path} holds no images '
                                f'({", ".join(IMAGE_EXTENSIONS)})')
    return files


def dataset_meta(model) -> dict:
    """Class names of the config's test dataset and the model's tasks, in
    its order (what the figures' keys and columns use)."""
    from sak_mm.registry import DATASETS
    dataset = DATASETS.get(model.cfg.test_dataloader.dataset.type)
    return dict(getattr(dataset, 'METAINFO', {}), tasks=tuple(model.tasks))


def routing_recorder(model):
    """``(context, summary)`` for the routing one image gets: run the image
    inside ``context``, then ``summary(sample)`` is a MoR model's gate
    scores or a routed-expert decoder's expert shares (None for a model
    that does not route)."""
    from sak_mm.engine.hooks import (ExpertUsageRecorder,
                                     RouterWeightsRecorder, router_layout)
    neck = getattr(model, 'neck', None)
    if neck is not None and getattr(neck, 'mode', None) == 'mor':
        layout = router_layout(model)

        def gates(sample):  # they come with the prediction
            recorder = RouterWeightsRecorder(layout)
            recorder.update([sample])
            return recorder.summarize()

        return contextlib.nullcontext(), gates
    try:
        experts = ExpertUsageRecorder(model)  # forward hooks on the routers
    except RuntimeError:  # no routed experts
        return contextlib.nullcontext(), lambda sample: None
    return experts, lambda sample: experts.summarize()


def main():
    args = parse_args()
    import numpy as np
    from mmengine.utils import ProgressBar
    from PIL import Image

    from sak_mm.apis import inference_model, init_model
    from sak_mm.utils import analysis_dir
    from sak_mm.visualization import MultiTaskVisualizer, routing_panels

    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    files = image_files(args.images)
    out_dir = args.out_dir or analysis_dir('image_demo', args.checkpoint)
    os.makedirs(out_dir, exist_ok=True)
    visualizer = MultiTaskVisualizer.get_instance('image_demo')
    visualizer.dataset_meta = dataset_meta(model)
    bar = ProgressBar(len(files))
    for path in files:
        context, summary = routing_recorder(model)
        with context:
            sample = inference_model(model, path)
        routing = summary(sample)
        if routing is not None:
            routing = routing_panels(routing)
        with Image.open(path) as img:
            image = np.asarray(img.convert('RGB'))
        name = osp.splitext(osp.basename(path))[0] + '.png'
        visualizer.add_datasample(name, image, sample, draw_gt=False,
                                  out_file=osp.join(out_dir, name),
                                  routing=routing)
        bar.update()
    print(f'\n{len(files)} figure(s) written to {out_dir}')


if __name__ == '__main__':
    main()
