# Single-task baseline (depth) of the paper's Table 4: Swin-T trained with
# the feature aggregator and one conv head.
_base_ = ['./mtl_swin-t_full-ft_2xb4-40k_nyud-448x448.py']
tasks = ['depth']
model = dict(
    decoder=dict(heads=dict(_delete_=True, depth={{_base_.fgmoe_nyud_mtlora_heads.depth}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, depth=dict(type='DepthMetric')), reference=None)
test_evaluator = val_evaluator
