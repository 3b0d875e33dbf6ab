# SAK stage 1 with a ViT-B/16 student and ViT-B teachers: distil DINOv2-B,
# CLIP-B/16 and SAM-B into the student's adapter paths on ImageNet-1k at
# 384x384 (16 images per GPU on 8 GPUs). The stem starts from timm's
# ImageNet ViT-B/16 at 384 (tools/model_converters/timm_vit_to_mmpretrain.py).
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/imagenet_distill.py',
    '../_base_/schedules/schedule_30e_distill.py',
    '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(
        stem=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    neck=None)
custom_hooks = []  # no routers in stage 1
# logged and saved by epoch
default_hooks = dict(
    logger=dict(log_metric_by_epoch=True),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
