# Multi-task baseline on PASCAL-Context (Table 3 / Fig. 3): a plain ViT-B/16
# shared by the five simple heads; no teachers, adapters or routers.
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(pad_size=crop_size),
    backbone=dict(
        stem=dict(
            img_size=crop_size,
            # ImageNet-pretrained ViT-B/16 (timm weights converted with
            # tools/model_converters/timm_vit_to_mmpretrain.py)
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(_delete_=True),
    neck=None,
    heads={{_base_.pascal_heads}})
sync_bn = 'torch'
custom_hooks = []  # no MoR routers to record
