# Copyright (c) sak_mm contributors. All rights reserved.
"""The data sample that carries one image's multi-task labels and outputs."""
from mmengine.structures import BaseDataElement, PixelData


class MultiTaskDataSample(BaseDataElement):
    """One image's dense ground truths, predictions and gate scores.

    Fields:
        gt (PixelData): one ``(C, H, W)`` tensor per task present in the
            annotation, named after the task (``gt.semseg``, ``gt.depth``...).
            A task missing here has no label for this image and is excluded
            from that task's loss and metric.
        pred (PixelData): the model's per-task predictions in the same layout,
            cropped back to the original image size.
        gate_scores (dict): MoR gate scores ``{task: (levels, experts)}``
            (only for models with routers), recorded by analysis hooks.

    Meta keys set by the pipeline: ``img_path``, ``ori_shape`` (H, W of the
    file), ``img_shape`` (after resize/crop), ``pad_shape`` and
    ``pad_offset`` (top, left) after the data preprocessor's centred padding.
    """

    @property
    def gt(self) -> PixelData:
        return self._gt

    @gt.setter
    def gt(self, value: PixelData):
        self.set_field(value, '_gt', dtype=PixelData)

    @gt.deleter
    def gt(self):
        del self._gt

    @property
    def pred(self) -> PixelData:
        return self._pred

    @pred.setter
    def pred(self, value: PixelData):
        self.set_field(value, '_pred', dtype=PixelData)

    @pred.deleter
    def pred(self):
        del self._pred

    def tasks_with_gt(self):
        """Names of the tasks this sample has ground truth for."""
        return list(self.gt.keys()) if 'gt' in self else []
