# SAK stage 1: distil DINOv2-L, CLIP-L/14@336 and SAM-L into a ViT-L/16
# student's adapter paths on ImageNet-1k at 384x384 (16 images per GPU on 8
# GPUs). No MoR routers or heads yet. The stem starts from timm's ImageNet
# ViT-L/16 at 384 (tools/model_converters/timm_vit_to_mmpretrain.py).
_base_ = [
    '../_base_/models/sak_vitl.py', '../_base_/datasets/imagenet_distill.py',
    '../_base_/schedules/schedule_30e_distill.py',
    '../_base_/default_runtime.py'
]
crop_size = (384, 384)
model = dict(
    data_preprocessor=dict(pad_size=crop_size),
    backbone=dict(
        stem=dict(
            img_size=crop_size,
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-large-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(
        dinov2=dict(img_size=crop_size), clip=dict(img_size=crop_size)),
    neck=None)
custom_hooks = []  # no routers in stage 1
default_hooks = dict(
    logger=dict(log_metric_by_epoch=True),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
