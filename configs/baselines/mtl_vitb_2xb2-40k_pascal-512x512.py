# Multi-task baseline on PASCAL-Context (Table 3 / Fig. 3): a plain ViT-B/16
# shared by the five simple heads; no teachers, adapters or routers.
_base_ = [
    '../_base_/models/mtl_vit.py', '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(
        stem=dict(
            arch='base',
            init_cfg=dict(
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth'))),
    decoder=dict(heads={{_base_.pascal_heads}}))
