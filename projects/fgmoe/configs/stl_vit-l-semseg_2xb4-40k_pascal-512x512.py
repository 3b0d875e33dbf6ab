# Single-task baseline (semseg) of the paper's Table 1 (PASCAL-Context, vit-l): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_vit-l_2xb4-40k_pascal-512x512.py']
tasks = ['semseg']
model = dict(
    decoder=dict(
        mixer=None,
        task_moe=None,
        global_moe=None,
        heads=dict(_delete_=True, semseg={{_base_.fgmoe_pascal_heads.semseg}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, semseg=dict(type='SemSegMetric', num_classes=21)), reference=None)
test_evaluator = val_evaluator
custom_hooks = []  # no routers
