# Stage 1 of the demo: distil the three tiny teachers into the tiny student's
# adapter paths on the demo images alone (no labels), like ImageNet stage 1.
# Its checkpoint starts the stage-2 demo:
#   python tools/train.py configs/demo/sak_tiny_stage1_demo.py --work-dir work_dirs/demo_s1
#   python tools/train.py configs/demo/sak_tiny_demo.py \
#       --cfg-options load_from=work_dirs/demo_s1/iter_200.pth
_base_ = ['./sak_tiny_demo.py']
model = dict(neck=None, heads=None)
custom_hooks = []
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageFolderDataset',
        data_root='data/nyud_demo',
        split='images',
        pipeline=[
            dict(type='LoadImage'),
            dict(type='RandomResizedCrop', size={{_base_.crop_size}},
                 scale=(0.3, 1.0)),
            dict(type='RandomHorizontalFlip', prob=0.5),
            dict(type='PackMultiTaskInputs'),
        ]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
max_iters = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5,
         by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
