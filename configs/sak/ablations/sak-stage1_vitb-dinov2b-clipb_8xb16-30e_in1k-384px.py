# Table 7 teacher subset, stage 1: distil only dinov2b + clipb (ViT-B).
_base_ = ['../sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px.py']
model = dict(
    teachers=dict(
        _delete_=True,
        dinov2={{_base_.dinov2_vitb14}},
        clip={{_base_.clip_vitb16}}))
