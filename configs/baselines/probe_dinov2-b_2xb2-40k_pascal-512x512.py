# Frozen-teacher probing (Fig. 1 left, Table 2 "oracle"): the DINOv2-B/14
# teacher stays frozen and only the five simple heads train on its 4 levels.
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='FrozenTeacherBackbone',
        teacher=dict(
            type='DINOv2Teacher',
            arch='base',
            img_size=(512, 512),
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth')))
