# PASCAL-Context in the decoder-only protocol of the paper's Table 3
# (MTLoRA's): four tasks (no boundaries), horizontal flip, rotation by
# U(-20, 20) degrees with zoom U(0.75, 1.25), then a fixed resize to 448x448
# for training and testing (predictions are scored at 448x448). Saliency is
# scored by mIoU over MTLoRA's 15 thresholds 0.20 ... 0.90.
_base_ = ['../../../../../configs/_base_/datasets/dense_multitask.py']
dataset_type = 'PascalContextDataset'
data_root = 'data/pascal_context'
# the size every image is resized to, for training and testing
crop_size = (448, 448)
tasks = ['semseg', 'human_parts', 'sal', 'normals']
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDenseAnnotations'),
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='RandomRotate', prob=1.0, degree=(-20, 20),
         zoom_range=(0.75, 1.25)),
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
sal_thresholds = [0.2 + 0.05 * i for i in range(15)]
val_evaluator = dict(
    type='MultiTaskMetric',
    task_metrics=dict(
        semseg=dict(type='SemSegMetric', num_classes=21),
        human_parts=dict(type='SemSegMetric', num_classes=7),
        sal=dict(type='SaliencyMetric', thresholds=sal_thresholds),
        normals=dict(type='NormalsMetric')))
test_evaluator = val_evaluator
