# SAK with a ViT-B/16 stem and DINOv2-B/14, CLIP-B/16 and SAM-B teachers
# (paper Fig. 3, Table 8).
_base_ = ['./sak.py', '../teachers.py']
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers=dict(
        dinov2={{_base_.dinov2_vitb14}},
        clip={{_base_.clip_vitb16}},
        sam={{_base_.sam_vitb}}))
