# Multi-task baseline on PASCAL-Context (Table 3 / Fig. 3): a plain ViT-B/16
# shared by the five simple heads; no teachers, adapters or routers.
_base_ = ['../sak/sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        stem=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth',
                prefix='backbone.'))),
    teachers=dict(_delete_=True),
    neck=None)
load_from = None
custom_hooks = []  # no MoR routers to record
