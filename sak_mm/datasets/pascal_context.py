# Copyright (c) sak_mm contributors. All rights reserved.
"""PASCAL-Context in the standard multi-task release (MTI-Net / ATRC /
InvPT / SAK): 5 tasks on 4998 train / 5105 val images."""
import hashlib
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from sak_mm.registry import DATASETS
from sak_mm.utils.cache import cache_dir as sak_cache_dir
from .split_file import read_split

PASCAL_LAYOUT = """expected layout:
  <data_root>/JPEGImages/<id>.jpg
  <data_root>/semseg/{VOC12,pascal-context}/<id>.png   21 classes, 0 = bg
  <data_root>/human_parts/<id>.mat                      PASCAL-Part anno
  <data_root>/sal_distill/<id>.png                      saliency, 0..255
  <data_root>/normals_distill/<id>.png                  RGB normals
  <data_root>/pascal-context/trainval/<id>.mat          LabelMap (edges)
  <data_root>/json/{nyu_classes,context_classes}.json   normals classes
  <data_root>/ImageSets/Context/{train,val}.txt         one <id> per line"""

PASCAL_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat',
                  'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
                  'dog', 'horse', 'motorbike', 'person', 'pottedplant',
                  'sheep', 'sofa', 'train', 'tvmonitor')
HUMAN_PART_CLASSES = ('background', 'head', 'torso', 'upper arm',
                      'lower arm', 'upper leg', 'lower leg')


@DATASETS.register_module()
class PascalContextDataset(BaseDataset):
    """PASCAL-Context with semantic segmentation (21 classes), human parts
    (7), saliency (2), surface normals and boundaries.

    Human parts exist only for images with annotated people: the others
    carry an all-ignore map and count in neither loss nor metric. Normals
    are valid only on the context classes that NYUD-v2 also annotates
    (``json/nyu_classes.json`` matched against ``json/context_classes.json``,
    plus ``tvmonitor``). Boundaries are derived from the context label maps.

    Args:
        data_root (str): Dataset root in the layout of :data:`PASCAL_LAYOUT`.
        split (str): ``'train'`` or ``'val'``.
        tasks (Sequence[str], optional): Tasks whose annotations are loaded
            (default: all of :attr:`TASKS`); the metainfo's ``tasks`` (what
            the evaluator scores).
        only_with_people (bool, optional): Keep only the images whose
            PASCAL-Part annotation has a person with parts. Defaults to True
            when human parts is the only task (the reference's single-task
            setting), False otherwise. The per-image answer is computed once
            per split and cached in ``cache_dir``.
        cache_dir (str, optional): Where that index is cached (written
            atomically; the dataset root may be read-only). Defaults to
            ``$SAK_MM_CACHE`` or ``~/.cache/sak_mm``.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=PASCAL_CLASSES,
                    human_part_classes=HUMAN_PART_CLASSES,
                    dataset_name='pascal_context')
    #: the tasks it annotates
    TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Optional[Sequence[str]] = None,
                 only_with_people: Optional[bool] = None,
                 cache_dir: Optional[str] = None,
                 **kwargs):
        tasks = self.TASKS if tasks is None else tasks
        unknown = set(tasks) - set(self.TASKS)
        if unknown:
            raise ValueError(f'PascalContextDataset has no task(s) '
                             f'{sorted(unknown)}; available: {list(self.TASKS)}')
        self.split = split
        self.tasks = tuple(tasks)
        self.only_with_people = tuple(tasks) == ('human_parts', ) \
            if only_with_people is None else only_with_people
        self.cache_dir = cache_dir or sak_cache_dir()
        kwargs['metainfo'] = dict(kwargs.get('metainfo') or {},
                                  tasks=self.tasks)
        super().__init__(data_root=data_root, **kwargs)

    def people_index(self, ids: Sequence[str]) -> Dict[str, bool]:
        """``{image id: has a person with part annotations}``, cached per
        dataset root and split (atomically: a crash never leaves a partial
        index behind)."""
        from sak_mm.datasets.transforms.loading import has_annotated_people
        key = hashlib.sha1(
            osp.abspath(self.data_root).encode()).hexdigest()[:12]
        path = osp.join(self.cache_dir, 'pascal_context', key,
                        f'people_{self.split}.json')
        if osp.isfile(path):
            with open(path) as f:
                index = json.load(f)
            if set(index) >= set(ids):
                return index
        # one PASCAL-Part file per image of the split (4998 train, 5105 val)
        print_log(f'finding the {self.split} images with annotated people '
                  f'in {len(ids)} human_parts files (once; cached in '
                  f'{path})', logger='current')
        index, bar = {}, ProgressBar(len(ids), file=sys.stdout)
        for idx in ids:
            index[idx] = has_annotated_people(
                self._path('human_parts', idx + '.mat'))
            bar.update()
        os.makedirs(osp.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.tmp')
        with os.fdopen(fd, 'w') as f:
            json.dump(index, f)
        os.replace(tmp, path)
        return index

    def _path(self, *parts: str) -> str:
        return osp.join(self.data_root, *parts)

    def normals_valid_classes(self) -> List[int]:
        """Context class indices on which distilled normals are valid."""
        files = [self._path('json', n)
                 for n in ('nyu_classes.json', 'context_classes.json')]
        for f in files:
            if not osp.isfile(f):
                raise FileNotFoundError(f'{f!r} is missing (needed for the '
                                        f'normals task).\n{PASCAL_LAYOUT}')
        with open(files[0]) as f:
            nyu = json.load(f)
        with open(files[1]) as f:
            context = json.load(f)
        valid = [context[c] for c in nyu if c in context and c != 'unknown']
        if 'tvmonitor' not in context:
            raise KeyError(f'{files[1]} has no tvmonitor class')
        return valid + [context['tvmonitor']]

    def _semseg_file(self, idx: str) -> str:
        for sub in ('VOC12', 'pascal-context'):
            path = self._path('semseg', sub, idx + '.png')
            if osp.isfile(path):
                return path
        return self._path('semseg', 'pascal-context', idx + '.png')

    def load_data_list(self) -> List[dict]:
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(f'PASCAL-Context root {self.data_root!r} '
                                    f'does not exist.\n{PASCAL_LAYOUT}')
        split_file = self._path('ImageSets', 'Context', f'{self.split}.txt')
        if not osp.isfile(split_file):
            raise FileNotFoundError(f'split file {split_file!r} does not '
                                    f'exist.\n{PASCAL_LAYOUT}')
        ids = read_split(split_file)
        valid_normals = self.normals_valid_classes() \
            if 'normals' in self.tasks else None
        data_list, missing = [], []
        for idx in ids:
            label_map = self._path('pascal-context', 'trainval', idx + '.mat')
            specs = {
                'semseg': ('png_label', self._semseg_file(idx)),
                'human_parts': ('mat_human_parts',
                                self._path('human_parts', idx + '.mat')),
                'sal': ('png_saliency',
                        self._path('sal_distill', idx + '.png')),
                'normals': ('png_normals_masked',
                            self._path('normals_distill', idx + '.png'),
                            dict(label_map=label_map,
                                 valid_classes=valid_normals)),
                'edge': ('mat_label_map_boundary', label_map),
            }
            gt_files = {t: specs[t] for t in self.tasks}
            img_path = self._path('JPEGImages', idx + '.jpg')
            needed = [img_path] + [s[1] for s in gt_files.values()]
            if 'normals' in self.tasks:
                needed.append(label_map)
            missing += [p for p in needed if not osp.isfile(p)]
            info = dict(img_path=img_path, img_id=idx, gt_files=gt_files,
                        num_classes=dict(semseg=len(PASCAL_CLASSES),
                                         human_parts=len(HUMAN_PART_CLASSES)))
            if 'edge' in self.tasks:  # the boundary benchmark's ground truth
                info['boundary_gt_file'] = label_map
            data_list.append(info)
        if missing:
            shown = '\n  '.join(sorted(set(missing))[:5])
            raise FileNotFoundError(
                f'{len(set(missing))} file(s) listed by {split_file!r} are '
                f'missing, e.g.:\n  {shown}\n{PASCAL_LAYOUT}')
        if self.only_with_people:
            index = self.people_index(ids)
            data_list = [d for d in data_list if index[d['img_id']]]
        return data_list
