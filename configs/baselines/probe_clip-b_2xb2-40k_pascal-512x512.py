# Frozen-teacher probing with CLIP ViT-B/16 (OpenAI weights).
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='FrozenTeacherBackbone',
        teacher=dict(
            type='CLIPTeacher',
            model_name='ViT-B-16',
            quick_gelu=True,
            img_size=(512, 512),
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt',
            allow_torchscript=True)))
