# SAK stage 2 on NYUD-v2 with the reference's own CLIP teacher (timm's
# vit_large_patch14_clip_336, laion2b_ft_in12k_in1k weights; see
# sak-stage1_vitl-dinov2l-timmclipl-saml_8xb16-30e_in1k-384px.py), from that
_base_ = ['./sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py']
model = dict(
    teachers=dict(
        _delete_=True,
        dinov2={{_base_.dinov2_vitl14}},
        clip={{_base_.timm_clip_vitl14_336}},
        sam={{_base_.sam_vitl}}))
load_from = ('work_dirs/sak-stage1_vitl-dinov2l-timmclipl-saml_8xb16-30e_'
             'in1k-384px/epoch_30.pth')
