# SAK stage 2 on NYUD-v2 with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 / Table 8).
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/nyud.py',
    '../_base_/schedules/schedule_40k.py', '../_base_/default_runtime.py'
]
crop_size = (448, 576)
model = dict(
    data_preprocessor=dict(pad_size=crop_size),
    backbone=dict(stem=dict(img_size=crop_size)),
    teachers=dict(clip=dict(img_size=crop_size)),
    heads={{_base_.nyud_heads}})
sync_bn = 'torch'
load_from = 'checkpoints/sak_vitb-dinov2b-clipb-samb_stage1_in1k.pth'
