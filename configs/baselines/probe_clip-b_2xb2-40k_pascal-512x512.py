# Frozen-teacher probing with CLIP ViT-B/16 (OpenAI weights).
_base_ = [
    '../_base_/models/probe.py', '../_base_/teachers.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py',
    '../_base_/schedules/schedule_40k.py', '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(teacher={{_base_.clip_vitb16}}),
    decoder=dict(heads={{_base_.pascal_heads}}))
