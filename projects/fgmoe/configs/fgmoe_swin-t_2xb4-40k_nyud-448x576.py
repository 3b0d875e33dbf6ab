# FGMoE, Swin-T, NYUD-v2, full-model training: the "w/ DM+GM+TSM" row of
# the paper's Table 5, and the default (6 routed experts, top-3) of Tables 6-7.
_base_ = [
    './_base_/models/fgmoe_swin-t.py', '../../../configs/_base_/datasets/nyud.py',
    './_base_/tasks/fgmoe_nyud.py', './_base_/schedules/sgd_40k.py',
    '../../../configs/_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    decoder=dict(heads={{_base_.fgmoe_nyud_heads}}))
val_evaluator = dict(reference={{_base_.nyud_swint_single_task}})
test_evaluator = val_evaluator
train_dataloader = dict(batch_size=4)  # x 2 GPUs: 8 images per step
