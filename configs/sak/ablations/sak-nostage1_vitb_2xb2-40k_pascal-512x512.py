# Table 4, "stage 2 only": no ImageNet distillation; the stem starts from
# the ImageNet ViT-B/16 and the adapter paths from scratch.
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        stem=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth',
                prefix='backbone.'))))
load_from = None
