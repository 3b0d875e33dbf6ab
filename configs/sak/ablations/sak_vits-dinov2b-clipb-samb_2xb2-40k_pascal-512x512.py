# Table 8 row 1: ViT-S/16 student, ViT-B teachers (aligners bridge 384 ->
# 768 in both stages).
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(backbone=dict(stem=dict(arch='deit-small')))
load_from = ('work_dirs/sak-stage1_vits-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
