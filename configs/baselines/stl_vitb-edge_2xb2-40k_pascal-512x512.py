# Single-task baseline (edge) on PASCAL-Context with ViT-B/16: one head on a
# plain ViT; its result is this task's reference for the MTL gain.
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
tasks = ['edge']
model = dict(heads=dict(_delete_=True, edge={{_base_.pascal_heads.edge}}))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(
    task_metrics=dict(
        _delete_=True,
        edge=dict(type='BoundaryMetric', max_dist=0.0075, num_workers=8)),
    reference=None)
test_evaluator = val_evaluator
