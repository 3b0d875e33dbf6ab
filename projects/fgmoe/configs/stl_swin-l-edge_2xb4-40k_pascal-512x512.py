# Single-task baseline (edge) of the paper's Table 1 (PASCAL-Context, swin-l): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_swin-l_2xb4-40k_pascal-512x512.py']
tasks = ['edge']
model = dict(
    decoder=dict(
        mixer=None,
        task_moe=None,
        global_moe=None,
        heads=dict(_delete_=True, edge={{_base_.fgmoe_pascal_heads.edge}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, edge=dict(type='BoundaryMetric', max_dist=0.0075, num_workers=8)), reference=None)
test_evaluator = val_evaluator
custom_hooks = []  # no routers
