# Table 7 teacher subset, stage 1: distil only samb (ViT-B).
_base_ = ['../sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px.py']
crop_size = (384, 384)
model = dict(
    teachers=dict(
        _delete_=True,
        sam=dict(type='SAMTeacher', arch='vit_b', checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
