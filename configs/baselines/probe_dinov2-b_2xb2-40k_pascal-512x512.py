# Frozen-teacher probing (Fig. 1 left, Table 2 "oracle"): the DINOv2-B/14
# teacher stays frozen and only the five simple heads train on its 4 levels.
_base_ = [
    '../_base_/models/probe.py', '../_base_/teachers.py',
    '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py',
    '../_base_/schedules/schedule_40k.py', '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(teacher={{_base_.dinov2_vitb14}}),
    decoder=dict(heads={{_base_.pascal_heads}}))
