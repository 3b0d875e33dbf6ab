# Single-task baseline (semseg) of the paper's Table 4: Swin-T trained with
# the feature aggregator and one conv head.
_base_ = ['./mtl_swin-t_full-ft_2xb4-40k_nyud-448x448.py']
tasks = ['semseg']
model = dict(
    decoder=dict(heads=dict(_delete_=True, semseg={{_base_.fgmoe_nyud_mtlora_heads.semseg}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, semseg=dict(type='SemSegMetric', num_classes=40)), reference=None)
test_evaluator = val_evaluator
