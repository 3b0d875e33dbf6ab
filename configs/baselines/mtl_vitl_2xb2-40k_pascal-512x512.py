# Multi-task baseline on PASCAL-Context with ViT-L/16 (Table 5).
_base_ = ['../sak/sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        stem=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-large-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(_delete_=True),
    neck=None)
load_from = None
custom_hooks = []
