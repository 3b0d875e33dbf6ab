# SAK stage 2 on NYUD-v2 with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 / Table 8): the ViT-L recipe with base-size models.
_base_ = [
    './sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py',
    '../_base_/models/teachers_vitb.py'
]
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers={{_base_.teachers_vitb}})
load_from = 'work_dirs/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px/epoch_30.pth'
# Delta_m needs the ViT-B single-task baselines (paper Fig. 3 only); set
# val_evaluator.reference to them to report it.
val_evaluator = dict(reference=None)
test_evaluator = dict(reference=None)
