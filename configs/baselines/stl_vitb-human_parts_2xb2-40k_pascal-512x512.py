# Single-task baseline (human_parts) on PASCAL-Context with ViT-B/16: one head on a
# plain ViT; its result is this task's reference for the MTL gain.
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
tasks = ['human_parts']
model = dict(heads=dict(_delete_=True, human_parts={{_base_.pascal_heads.human_parts}}))
train_dataloader = dict(dataset=dict(tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(task_metrics=dict(_delete_=True, human_parts=dict(type='SemSegMetric', num_classes=7)), reference=None)
test_evaluator = val_evaluator
