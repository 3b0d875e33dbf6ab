# NYUD-v2, standard multi-task release (795 train / 654 val), 4 tasks.
_base_ = ['./dense_multitask.py']
dataset_type = 'NYUDv2Dataset'
data_root = 'data/nyud'
crop_size = (448, 576)
# the tasks the model decodes, the datasets load and the metrics score
# (passed on by sak_mm.utils.apply_task_switch; a single-task config sets
# only this)
tasks = ['semseg', 'depth', 'normals', 'edge']

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='RandomRescale', scale_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader

# Validation and testing score all four tasks, so Delta_m during training
# is complete: the boundary odsF (SEISM protocol, maxDist 0.011) with the
# fast backend (numba; about 0.7 s per image and core, see
# docs/evaluation.md). A config sets `reference` (the single-task results)
# for the MTL gain.
val_evaluator = dict(
    type='MultiTaskMetric',
    task_metrics=dict(
        semseg=dict(type='SemSegMetric', num_classes=40),
        depth=dict(type='DepthMetric'),
        normals=dict(type='NormalsMetric'),
        edge=dict(type='BoundaryMetric', max_dist=0.011, num_workers=8)))
test_evaluator = val_evaluator
