# The teachers, as presets a model config picks by name, e.g.
# teachers=dict(clip={{_base_.clip_vitb16}}). Weights are read from local
# files (docs/weights.md), always through `checkpoint`; each teacher's input
# size is the model's `crop_size` (SAM keeps its 1024 canvas).
dinov2_vitb14 = dict(
    type='DINOv2Teacher',
    arch='base',
    checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth')
dinov2_vitl14 = dict(
    type='DINOv2Teacher',
    arch='large',
    checkpoint='checkpoints/teachers/dinov2_vitl14_mmpretrain.pth')
# OpenAI's CLIP weights: QuickGELU, and the release is a TorchScript archive
clip_vitb16 = dict(
    type='CLIPTeacher',
    model_name='ViT-B-16',
    quick_gelu=True,
    checkpoint='checkpoints/teachers/clip_vitb16_openai.pt',
    allow_torchscript=True)
clip_vitl14_336 = dict(
    type='CLIPTeacher',
    model_name='ViT-L-14-336',
    quick_gelu=True,
    checkpoint='checkpoints/teachers/clip_vitl14_336_openai.pt',
    allow_torchscript=True)
# the SAK reference's own CLIP-L: timm's OpenCLIP LAION-2B tower fine-tuned
# on ImageNet, with timm's pretrained config's normalisation
timm_clip_vitl14_336 = dict(
    type='TimmViTTeacher',
    model_name='vit_large_patch14_clip_336',
    mean=(127.5, 127.5, 127.5),
    std=(127.5, 127.5, 127.5),
    checkpoint='checkpoints/teachers/'
    'vit_large_patch14_clip_336.laion2b_ft_in12k_in1k.safetensors')
sam_vitb = dict(
    type='SAMTeacher',
    arch='vit_b',
    checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth')
sam_vitl = dict(
    type='SAMTeacher',
    arch='vit_l',
    checkpoint='checkpoints/teachers/sam_vit_l_0b3195.pth')
# an ImageNet ViT-B/16 read like a teacher (the probe row of a plain ViT)
imagenet_vitb16 = dict(
    type='DINOv2Teacher',
    arch='base',
    patch_size=16,
    layer_scale_init_value=0.0,
    checkpoint='checkpoints/vit-base-p16_in21k-in1k-384.pth')
