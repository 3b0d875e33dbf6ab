# Table 7 teacher subset, stage 2 on PASCAL-Context: clipb only.
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
crop_size = (512, 512)
model = dict(
    teachers=dict(
        _delete_=True,
        clip=dict(type='CLIPTeacher', model_name='ViT-B-16', quick_gelu=True, img_size=crop_size, pretrained='checkpoints/teachers/clip_vitb16_openai.pt', allow_torchscript=True),
    ))
load_from = ('work_dirs/sak-stage1_vitb-clipb_8xb16-30e_in1k-384px/'
             'epoch_30.pth')
