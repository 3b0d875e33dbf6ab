# NYUD-v2 in the decoder-only protocol of the paper's Table 4 (MTLoRA's):
# semantic segmentation and depth, horizontal flip, zoom by one of
# {1.0, 1.2, 1.5}, then a fixed resize to 448x448 for training and testing
# (predictions are scored at 448x448).
_base_ = ['../../../../../configs/_base_/datasets/dense_multitask.py']
dataset_type = 'NYUDv2Dataset'
data_root = 'data/nyud'
# the size every image is resized to, for training and testing
crop_size = (448, 448)
tasks = ['semseg', 'depth']
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='RandomRotate', prob=1.0, degree=(0, 0),
         zoom_choices=(1.0, 1.2, 1.5)),
    dict(type='FixedResize', size=crop_size),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='FixedResize', size=crop_size),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='MultiTaskMetric',
    task_metrics=dict(
        semseg=dict(type='SemSegMetric', num_classes=40),
        depth=dict(type='DepthMetric')))
test_evaluator = val_evaluator
