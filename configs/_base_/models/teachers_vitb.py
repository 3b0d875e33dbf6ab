# ViT-B teachers (DINOv2-B/14, CLIP-B/16, SAM-B), merged over the ViT-L ones
# of sak_vitl.py by the ViT-B configs: model = dict(teachers=teachers_vitb)
teachers_vitb = dict(
    dinov2=dict(
        arch='base',
        checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
    clip=dict(
        model_name='ViT-B-16',
        pretrained='checkpoints/teachers/clip_vitb16_openai.pt'),
    sam=dict(
        arch='vit_b', checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
)
