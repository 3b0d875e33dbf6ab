# SAK stage 2 on PASCAL-Context with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 and the ablations of Section 4.3).
_base_ = [
    './sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py',
    '../_base_/models/teachers_vitb.py'
]
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers={{_base_.teachers_vitb}})
load_from = ('work_dirs/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
# Table 3 (ViT-B, PASCAL) single-task baselines are not in the text; set
# val_evaluator.reference to them to report Delta_m.
val_evaluator = dict(reference=None)
test_evaluator = dict(reference=None)
