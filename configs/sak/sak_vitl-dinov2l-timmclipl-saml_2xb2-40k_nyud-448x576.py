# SAK stage 2 on NYUD-v2 with the reference's own CLIP teacher (timm's
# vit_large_patch14_clip_336, laion2b_ft_in12k_in1k weights; see
# sak-stage1_vitl-dinov2l-timmclipl-saml_8xb16-30e_in1k-384px.py), from that
# stage-1 student.
_base_ = ['./sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py']
crop_size = (448, 576)
model = dict(
    teachers=dict(
        clip=dict(
            _delete_=True,
            type='TimmViTTeacher',
            model_name='vit_large_patch14_clip_336',
            img_size=crop_size,
            mean=(127.5, 127.5, 127.5),  # timm's pretrained config
            std=(127.5, 127.5, 127.5),
            checkpoint='checkpoints/teachers/'
            'vit_large_patch14_clip_336.laion2b_ft_in12k_in1k.safetensors')))
load_from = ('work_dirs/sak-stage1_vitl-dinov2l-timmclipl-saml_8xb16-30e_'
             'in1k-384px/epoch_30.pth')
