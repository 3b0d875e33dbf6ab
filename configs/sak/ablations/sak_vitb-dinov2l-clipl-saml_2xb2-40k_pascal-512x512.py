# Table 8 row 3: ViT-B/16 student, ViT-L teachers.
_base_ = ['../sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py']
model = dict(backbone=dict(stem=dict(arch='base')))
load_from = ('work_dirs/sak-stage1_vitb-dinov2l-clipl-saml_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
# Table 8 has no ViT-B single-task references in the text
val_evaluator = dict(reference=None)
test_evaluator = val_evaluator
