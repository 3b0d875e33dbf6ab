# SAK stage 1 with a ViT-B/16 student and ViT-B teachers.
_base_ = ['./sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px.py']
model = dict(
    backbone=dict(
        stem=dict(
            arch='base',
            init_cfg=dict(
                checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth'))),
    teachers=dict(
        dinov2=dict(
            arch='base',
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(
            model_name='ViT-B-16',
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt'),
        sam=dict(
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
