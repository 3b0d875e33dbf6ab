# Many-to-one distillation without biases (Table 2 / Table 3 row 1), stage 1:
# a plain ViT-B/16 student matched to all three teachers through one linear
# aligner per teacher and level (no adapter paths).
_base_ = ['../sak/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px.py']
model = dict(backbone=dict(adapter_paths=False), aligners=True)
