# NYUD-v2, standard multi-task release (795 train / 654 val), 4 tasks.
dataset_type = 'NYUDv2Dataset'
data_root = 'data/nyud'
crop_size = (448, 576)
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
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='PackMultiTaskInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# NYUD heads (paper's simple head) with the reference's task weights.
nyud_heads = dict(
    semseg=dict(
        type='SimpleHead',
        out_channels=40,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    depth=dict(
        type='SimpleHead',
        out_channels=1,
        loss=dict(type='MaskedL1Loss', loss_weight=1.0)),
    normals=dict(
        type='SimpleHead',
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        type='SimpleHead',
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0)),
)

# Delta_m is measured against the ViT-L single-task baselines of the paper
# (Table 6). The boundary odsF (SEISM protocol, maxDist 0.011) is slow (BSDS
# pixel matching, ~10 s per image and core), so validation during training
# leaves it out and its Delta_m is partial (logged as such); testing
# computes all four tasks. Add the edge metric to val_evaluator to validate
# with it.
val_evaluator = dict(
    type='MultiTaskMetric',
    task_metrics=dict(
        semseg=dict(type='SemSegMetric', num_classes=40),
        depth=dict(type='DepthMetric'),
        normals=dict(type='NormalsMetric')),
    reference={
        'semseg/mIoU': 54.19,
        'depth/RMSE': 0.5560,
        'normals/mErr': 19.22,
        'edge/odsF': 78.09,
    })
test_evaluator = dict(
    type='MultiTaskMetric',
    task_metrics=dict(
        semseg=dict(type='SemSegMetric', num_classes=40),
        depth=dict(type='DepthMetric'),
        normals=dict(type='NormalsMetric'),
        edge=dict(type='BoundaryMetric', max_dist=0.011, num_workers=8)),
    reference=val_evaluator['reference'])
