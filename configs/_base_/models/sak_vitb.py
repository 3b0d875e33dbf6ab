# SAK with a ViT-B/16 stem and DINOv2-B, CLIP-B/16 and SAM-B teachers.
_base_ = ['./sak_vitl.py']
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers=dict(
        dinov2=dict(
            arch='base',
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(
            model_name='ViT-B-16',
            quick_gelu=True,  # OpenAI weights
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt'),
        sam=dict(
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
