# The demo: a tiny SAK student with three tiny random-init teachers (one of
# each family) on the procedural NYUD-format rooms of
# `python tools/misc/make_demo_data.py data/nyud_demo`. Runs on a CPU in a
# few minutes; it exercises every part of the real pipeline.
_base_ = [
    '../_base_/models/sak_vitl.py', '../_base_/datasets/nyud.py',
    '../_base_/tasks/nyud.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
crop_size = (96, 128)
tiny_vit = dict(
    _delete_=True,
    embed_dims=64,
    num_layers=4,
    num_heads=4,
    feedforward_channels=128)
model = dict(
    crop_size=crop_size,
    backbone=dict(stem=dict(arch=tiny_vit)),
    teachers=dict(
        _delete_=True,
        dinov2=dict(
            type='DINOv2Teacher',
            arch=dict(
                embed_dims=48, num_layers=4, num_heads=2,
                feedforward_channels=96)),
        clip=dict(
            type='CLIPTeacher',
            vision_cfg=dict(
                width=64, layers=4, head_width=32, patch_size=16,
                mlp_ratio=2.0)),
        sam=dict(
            type='SAMTeacher',
            arch=dict(
                embed_dim=48, depth=4, num_heads=2,
                global_attn_indexes=(1, 3)),
            img_size=128,
            window_size=4)),
    heads={{_base_.nyud_heads}})

data_root = 'data/nyud_demo'
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadImage'),
            dict(type='LoadDenseAnnotations'),
            dict(type='RandomRescale', scale_range=(0.75, 1.25)),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
            dict(type='RandomHorizontalFlip', prob=0.5),
            dict(type='PhotoMetricDistortion'),
            dict(type='PackMultiTaskInputs'),
        ]))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# the demo has no single-task reference numbers; its few small val images
# are scored in the main process (the boundary metric too: the fast
# backend, compiled by numba on first use and cached)
val_evaluator = dict(task_metrics=dict(edge=dict(num_workers=0)))
test_evaluator = val_evaluator

max_iters = 600
# the demo runs anywhere, CPU included: full precision (the real configs
# train in bf16 AMP)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
