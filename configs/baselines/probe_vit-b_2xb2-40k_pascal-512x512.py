# Frozen ImageNet ViT-B/16 probing (the baseline of Fig. 1 left): the
# mmpretrain ViT wrapper of the DINOv2 teacher, with patch 16, no
# LayerScale and the timm ImageNet weights converted to mmpretrain.
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='FrozenTeacherBackbone',
        teacher=dict(
            type='DINOv2Teacher',
            arch='base',
            patch_size=16,
            img_size=(512, 512),
            layer_scale_init_value=0.0,
            checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth')))
