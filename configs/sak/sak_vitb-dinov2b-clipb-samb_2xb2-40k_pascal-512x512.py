# SAK stage 2 on PASCAL-Context with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 and the ablations of Section 4.3).
_base_ = ['./sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py']
model = dict(
    backbone=dict(stem=dict(arch='base')),
    teachers=dict(
        dinov2=dict(
            arch='base',
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(
            model_name='ViT-B-16',
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt'),
        sam=dict(
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
load_from = ('work_dirs/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
# Table 3 (ViT-B, PASCAL) single-task baselines are not in the text; set
# val_evaluator.reference to them to report Delta_m.
val_evaluator = dict(reference=None)
test_evaluator = dict(reference=None)
