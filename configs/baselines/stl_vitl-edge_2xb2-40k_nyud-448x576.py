# Single-task baseline (edge) on NYUD-v2 with ViT-L/16 (Table 6, the Delta_m
# references): one head on a plain ImageNet ViT.
_base_ = ['./mtl_vitl_2xb2-40k_nyud-448x576.py']
tasks = ['edge']
model = dict(heads=dict(_delete_=True, edge={{_base_.nyud_heads.edge}}))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(
        _delete_=True,
        edge=dict(type='BoundaryMetric', max_dist=0.011, num_workers=8)),
    reference=None)
test_evaluator = val_evaluator
