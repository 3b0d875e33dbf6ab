# FGMoE+Swin-L, PASCAL-Context, decoder-only fine-tuning (paper Table 3).
_base_ = [
    './_base_/models/fgmoe_swin-l.py', './_base_/datasets/pascal_mtlora.py',
    './_base_/tasks/fgmoe_mtlora.py', './_base_/schedules/sgd_40k.py',
    '../../../configs/_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    decoder=dict(heads={{_base_.fgmoe_pascal_mtlora_heads}}),
    # ImageNet weights (mmpretrain format): the classifier checkpoint has an
    # output norm for the last stage only; the others start fresh
    pretrained=dict(
        checkpoint='checkpoints/swin-large_in22k-384px_mmpretrain.pth',
        prefix='backbone.',
        allow_missing=('norm0.', 'norm1.', 'norm2.')),
    # the backbone stays as pretrained: no gradients, no optimizer state,
    # eval-mode norms; --cfg-options model.save_backbone=False keeps it out
    # of the checkpoints (it is then read from `pretrained` at build time)
    freeze_backbone=True)
val_evaluator = dict(reference={{_base_.pascal_mtlora_single_task}})
test_evaluator = val_evaluator
train_dataloader = dict(batch_size=4)  # x 2 GPUs: 8 images per step
