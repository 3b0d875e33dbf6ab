# Multi-task baseline (paper Table 6, "Multi-task baseline"): a plain ViT-L/16
# shared by the four simple heads; no teachers, no adapters, no routers.
_base_ = [
    '../_base_/models/sak_vitl.py', '../_base_/datasets/nyud.py',
    '../_base_/tasks/nyud.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
crop_size = (448, 576)
model = dict(
    data_preprocessor=dict(pad_size=crop_size),
    backbone=dict(
        stem=dict(
            img_size=crop_size,
            # ImageNet-pretrained ViT-L/16 (timm weights converted with
            # tools/model_converters/timm_vit_to_mmpretrain.py)
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-large-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(_delete_=True),
    neck=None,
    heads={{_base_.nyud_heads}})
sync_bn = 'torch'
custom_hooks = []  # no MoR routers to record
# Delta_m against the paper's ViT-L single-task baselines (Table 6)
val_evaluator = dict(reference={{_base_.nyud_vitl_references}})
test_evaluator = dict(reference={{_base_.nyud_vitl_references}})
