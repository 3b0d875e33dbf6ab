# Frozen-teacher probing with SAM ViT-B, which sees its input at 1024 (the
# higher resolution that Section 2 names as SAM's bias).
_base_ = [
    '../_base_/models/probe.py', '../_base_/teachers.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py',
    '../_base_/schedules/schedule_40k.py', '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(teacher={{_base_.sam_vitb}}),
    decoder=dict(heads={{_base_.pascal_heads}}))
