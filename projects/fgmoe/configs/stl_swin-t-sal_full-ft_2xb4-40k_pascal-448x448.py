# Single-task baseline (sal) of the paper's Table 3: Swin-T trained with
# the feature aggregator and one conv head.
_base_ = ['./mtl_swin-t_full-ft_2xb4-40k_pascal-448x448.py']
tasks = ['sal']
model = dict(
    decoder=dict(heads=dict(_delete_=True, sal={{_base_.fgmoe_pascal_mtlora_heads.sal}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, sal=dict(type='SaliencyMetric', thresholds={{_base_.sal_thresholds}})), reference=None)
test_evaluator = val_evaluator
