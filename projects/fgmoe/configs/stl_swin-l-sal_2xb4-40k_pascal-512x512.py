# Single-task baseline (sal) of the paper's Table 1 (PASCAL-Context, swin-l): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_swin-l_2xb4-40k_pascal-512x512.py']
tasks = ['sal']
model = dict(
    decoder=dict(
        mixer=None,
        task_moe=None,
        global_moe=None,
        heads=dict(_delete_=True, sal={{_base_.fgmoe_pascal_heads.sal}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, sal=dict(type='SaliencyMetric')), reference=None)
test_evaluator = val_evaluator
custom_hooks = []  # no routers
