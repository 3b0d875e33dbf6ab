# SAK stage 1 with a ViT-B/16 student and ViT-B teachers.
_base_ = [
    './sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px.py',
    '../_base_/models/teachers_vitb.py'
]
model = dict(
    backbone=dict(
        stem=dict(
            arch='base',
            init_cfg=dict(
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth'))),
    teachers={{_base_.teachers_vitb}})
