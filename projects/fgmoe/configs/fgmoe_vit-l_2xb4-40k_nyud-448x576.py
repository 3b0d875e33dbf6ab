# FGMoE, ViT-L/16, NYUD-v2, full-model training (paper Table 2).
_base_ = [
    './_base_/models/fgmoe_vit-l.py', '../../../configs/_base_/datasets/nyud.py',
    './_base_/tasks/fgmoe_nyud.py', './_base_/schedules/sgd_40k.py',
    '../../../configs/_base_/default_runtime.py'
]
crop_size = (448, 576)
model = dict(
    data_preprocessor=dict(pad_size=crop_size),
    backbone=dict(img_size=crop_size),
    decoder=dict(heads={{_base_.fgmoe_nyud_heads}}))
val_evaluator = dict(reference={{_base_.nyud_vitl_single_task}})
test_evaluator = dict(reference={{_base_.nyud_vitl_single_task}})
train_dataloader = dict(batch_size=4)  # x 2 GPUs: 8 images per step
sync_bn = 'torch'
