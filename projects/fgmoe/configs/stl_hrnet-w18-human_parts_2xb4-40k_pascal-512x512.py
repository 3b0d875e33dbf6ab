# Single-task baseline (human_parts) of the paper's Table 1 (PASCAL-Context, hrnet-w18): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_hrnet-w18_2xb4-40k_pascal-512x512.py']
tasks = ['human_parts']
model = dict(
    decoder=dict(
        mixer=None,
        task_moe=None,
        global_moe=None,
        heads=dict(_delete_=True, human_parts={{_base_.fgmoe_pascal_heads.human_parts}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, human_parts=dict(type='SemSegMetric', num_classes=7)), reference=None)
test_evaluator = val_evaluator
custom_hooks = []  # no routers
