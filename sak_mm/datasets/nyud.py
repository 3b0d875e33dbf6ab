# Copyright (c) sak_mm contributors. All rights reserved.
"""NYUD-v2 in the standard multi-task release (MTI-Net / ATRC / SAK)."""
import os.path as osp
from typing import List, Sequence

from mmengine.dataset import BaseDataset

from sak_mm.registry import DATASETS
from .split_file import read_split

NYUD_LAYOUT = """expected layout:
  <data_root>/images/<id>.png         RGB image
  <data_root>/segmentation/<id>.png   0 = void, 1..40 = classes
  <data_root>/depth/<id>.npy          float depth in metres (0 = missing)
  <data_root>/normals/<id>.png        RGB, n = 2 * x / 255 - 1
  <data_root>/edge/<id>.png           0 / 255 boundaries
  <data_root>/gt_sets/{train,val}.txt one <id> per line"""

NYUD_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')


@DATASETS.register_module()
class NYUDv2Dataset(BaseDataset):
    """NYUD-v2 with semantic segmentation (40 classes), depth, surface normals
    and boundaries.

    Args:
        data_root (str): Dataset root in the layout of :data:`NYUD_LAYOUT`.
        split (str): ``'train'`` or ``'val'`` (reads ``gt_sets/<split>.txt``).
        tasks (Sequence[str]): Tasks whose annotations are loaded (of
            :attr:`TASK_FILES`); the metainfo's ``tasks`` (what the
            evaluator scores).
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``serialize_data``...).

    Every file the split lists is checked when the dataset is built, so a
    missing file is reported before training starts.
    """

    METAINFO = dict(classes=NYUD_CLASSES, dataset_name='nyud')
    #: task -> (folder, file suffix, annotation format of the loader)
    TASK_FILES = {
        'semseg': ('segmentation', '.png', 'png_label_shift1'),
        'depth': ('depth', '.npy', 'npy_depth'),
        'normals': ('normals', '.png', 'png_normals'),
        'edge': ('edge', '.png', 'png_binary'),
    }

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Sequence[str] = ('semseg', 'depth', 'normals', 'edge'),
                 **kwargs):
        unknown = set(tasks) - set(self.TASK_FILES)
        if unknown:
            raise ValueError(f'NYUDv2Dataset has no task(s) {sorted(unknown)}; '
                             f'available: {sorted(self.TASK_FILES)}')
        self.split = split
        self.tasks = tuple(tasks)
        kwargs['metainfo'] = dict(kwargs.get('metainfo') or {},
                                  tasks=self.tasks)
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'NYUD-v2 root {root!r} does not exist.\n{NYUD_LAYOUT}')
        split_file = osp.join(root, 'gt_sets', f'{self.split}.txt')
        if not osp.isfile(split_file):
            raise FileNotFoundError(
                f'NYUD-v2 split file {split_file!r} does not exist.\n'
                f'{NYUD_LAYOUT}')
        ids = read_split(split_file)

        data_list, missing = [], []
        for idx in ids:
            img_path = osp.join(root, 'images', idx + '.png')
            gt_files = {}
            for task in self.tasks:
                folder, suffix, fmt = self.TASK_FILES[task]
                gt_files[task] = (fmt, osp.join(root, folder, idx + suffix))
            for path in [img_path] + [p for _, p in gt_files.values()]:
                if not osp.isfile(path):
                    missing.append(path)
            data_list.append(
                dict(img_path=img_path, img_id=idx, gt_files=gt_files,
                     num_classes=dict(semseg=len(NYUD_CLASSES))))
        if missing:
            shown = '\n  '.join(missing[:5])
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed by {split_file!r} are missing, '
                f'e.g.:\n  {shown}\n{NYUD_LAYOUT}')
        return data_list
