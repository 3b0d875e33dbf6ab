# SAK with a ViT-B/16 stem and DINOv2-B/14, CLIP-B/16 and SAM-B teachers
# (paper Fig. 3, Table 8). Teacher weights are read from local files (see
# docs/weights.md).
_base_ = ['./sak.py']
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers=dict(
        dinov2=dict(
            type='DINOv2Teacher',
            arch='base',
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(
            type='CLIPTeacher',
            model_name='ViT-B-16',
            quick_gelu=True,  # OpenAI weights
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt',
            allow_torchscript=True),  # OpenAI's release is TorchScript
        sam=dict(
            type='SAMTeacher',
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
