# SAK stage 1: ViT-B/16 student distilled from ViT-L teachers (paper
# Table 8); the 768 -> 1024 width gap is bridged by aligners.
_base_ = ['./sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px.py']
model = dict(
    backbone=dict(
        stem=dict(
            arch='base',
            init_cfg=dict(
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth'))))
