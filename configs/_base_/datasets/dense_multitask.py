# Loader settings shared by the dense multi-task datasets (NYUD-v2,
# PASCAL-Context): each dataset base names its dataset, tasks and training
# pipeline. Evaluation keeps images and labels at their own size.
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
    dataset=dict(split='train'))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
