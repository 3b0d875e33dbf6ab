# Frozen ImageNet ViT-B/16 probing (the baseline of Fig. 1 left): the
# mmpretrain ViT wrapper of the DINOv2 teacher, with patch 16, no
# LayerScale and the timm ImageNet weights converted to mmpretrain.
_base_ = [
    '../_base_/models/probe.py', '../_base_/teachers.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py',
    '../_base_/schedules/schedule_40k.py', '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(teacher={{_base_.imagenet_vitb16}}),
    decoder=dict(heads={{_base_.pascal_heads}}))
