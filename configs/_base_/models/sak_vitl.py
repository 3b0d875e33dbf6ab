# SAK with a ViT-L/16 stem and DINOv2-L, CLIP-L/14@336 and SAM-L teachers.
_base_ = ['./sak.py', '../teachers.py']
model = dict(
    backbone=dict(stem=dict(arch='large')),
    teachers=dict(
        dinov2={{_base_.dinov2_vitl14}},
        clip={{_base_.clip_vitl14_336}},
        sam={{_base_.sam_vitl}}))
