# SAK stage 1 with the reference's own CLIP teacher: timm's
# vit_large_patch14_clip_336 with its default weights, laion2b_ft_in12k_in1k
# (OpenCLIP LAION-2B, fine-tuned on ImageNet-12k/1k), instead of OpenAI's
# CLIP; the rest as sak-stage1_vitl-dinov2l-clipl-saml. Weights: the
# model.safetensors of timm/vit_large_patch14_clip_336.laion2b_ft_in12k_in1k
# (docs/weights.md).
_base_ = ['./sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-384px.py']
model = dict(
    teachers=dict(
        _delete_=True,
        dinov2={{_base_.dinov2_vitl14}},
        clip={{_base_.timm_clip_vitl14_336}},
        sam={{_base_.sam_vitl}}))
