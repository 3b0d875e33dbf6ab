# FGMoE, HRNet-W18-small (the paper's "HRNet18"), PASCAL-Context, full-model training (paper Table 1).
_base_ = [
    './_base_/models/fgmoe_hrnet-w18-small.py', '../../../configs/_base_/datasets/pascal_context.py',
    './_base_/tasks/fgmoe_pascal.py', './_base_/schedules/sgd_40k.py',
    '../../../configs/_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    decoder=dict(heads={{_base_.fgmoe_pascal_heads}}))
val_evaluator = dict(reference={{_base_.pascal_hrnet18_single_task}})
test_evaluator = val_evaluator
train_dataloader = dict(batch_size=4)  # x 2 GPUs: 8 images per step
