# Table 7 teacher subset, stage 1: distil only dinov2b + clipb (ViT-B).
_base_ = ['../sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-384px.py']
crop_size = (384, 384)
model = dict(
    teachers=dict(
        _delete_=True,
        dinov2=dict(type='DINOv2Teacher', arch='base', img_size=crop_size, checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(type='CLIPTeacher', model_name='ViT-B-16', quick_gelu=True, img_size=crop_size, pretrained='checkpoints/teachers/clip_vitb16_openai.pt', allow_torchscript=True),
    ))
