# SAK with a ViT-L/16 stem and DINOv2-L, CLIP-L/14@336 and SAM-L teachers.
# Teacher weights are read from local files (see docs/weights.md).
_base_ = ['./sak.py']
model = dict(
    backbone=dict(stem=dict(arch='large')),
    teachers=dict(
        dinov2=dict(
            type='DINOv2Teacher',
            arch='large',
            checkpoint='checkpoints/teachers/dinov2_vitl14_mmpretrain.pth'),
        clip=dict(
            type='CLIPTeacher',
            model_name='ViT-L-14-336',
            quick_gelu=True,  # OpenAI weights
            pretrained='checkpoints/teachers/clip_vitl14_336_openai.pt',
            allow_torchscript=True),  # OpenAI's release is TorchScript
        sam=dict(
            type='SAMTeacher',
            arch='vit_l',
            checkpoint='checkpoints/teachers/sam_vit_l_0b3195.pth'),
    ))
