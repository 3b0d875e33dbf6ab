# Single-task baseline (depth) of the paper's Table 2 (NYUD-v2, ViT-L): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_vit-l_2xb4-40k_nyud-448x576.py']
tasks = ['depth']
model = dict(
    decoder=dict(
        mixer=None,
        task_moe=None,
        global_moe=None,
        heads=dict(_delete_=True, depth={{_base_.fgmoe_nyud_heads.depth}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, depth=dict(type='DepthMetric')), reference=None)
test_evaluator = val_evaluator
custom_hooks = []  # no routers
