# Single-task baseline (normals) of the paper's Table 3: Swin-T trained with
# the feature aggregator and one conv head.
_base_ = ['./mtl_swin-t_full-ft_2xb4-40k_pascal-448x448.py']
tasks = ['normals']
model = dict(
    decoder=dict(heads=dict(_delete_=True, normals={{_base_.fgmoe_pascal_mtlora_heads.normals}})))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(_delete_=True, normals=dict(type='NormalsMetric')), reference=None)
test_evaluator = val_evaluator
