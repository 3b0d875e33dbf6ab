# SAK stage 1 with a ViT-B/16 student and ViT-B teachers: distil DINOv2-B,
# CLIP-B/16 and SAM-B into the student's adapter paths on ImageNet-1k at
# 384x384 (16 images per GPU on 8 GPUs). The stem starts from timm's
# ImageNet ViT-B/16 at 384 (tools/model_converters/timm_vit_to_mmpretrain.py).
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/imagenet_distill.py',
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
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(
        dinov2=dict(img_size=crop_size), clip=dict(img_size=crop_size)),
    neck=None)
custom_hooks = []  # no routers in stage 1
default_hooks = dict(
    logger=dict(log_metric_by_epoch=True),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
