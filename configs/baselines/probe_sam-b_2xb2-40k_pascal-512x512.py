# Frozen-teacher probing with SAM ViT-B, which sees its input at 1024 (the
# higher resolution that Section 2 names as SAM's bias).
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='FrozenTeacherBackbone',
        teacher=dict(
            type='SAMTeacher',
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth')))
