# SAK stage 1: ViT-S/16 student distilled from ViT-B teachers (paper
# Table 8); aligners bridge 384 -> 768.
_base_ = ['./sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px.py']
model = dict(
    backbone=dict(
        stem=dict(
            arch='deit-small',
            init_cfg=dict(
                checkpoint='checkpoints/vit-small-p16_in21k-in1k-384.pth'))))
