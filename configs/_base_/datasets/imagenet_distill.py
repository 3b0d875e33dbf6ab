# ImageNet-1k images for stage-1 distillation (labels are not used).
# Layout: data/imagenet/train/<wnid>/*.JPEG (optionally a list file).
dataset_type = 'ImageFolderDataset'
data_root = 'data/imagenet'
crop_size = (384, 384)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomResizedCrop', size=crop_size),
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
# Stage 1 has no validation loop: measure how well the student reproduces
# its teachers with tools/analysis/rep_similarity.py (--split train with
# --cfg-options train_dataloader.dataset.split=val for ImageNet val).
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
