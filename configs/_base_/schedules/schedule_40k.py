# Stage 2 (paper App. B): AdamW lr 2e-5, wd 1e-6, poly decay, 40k iters,
# gradient-norm clipping at 10. bf16 autocast (mmengine's AmpOptimWrapper);
# `tools/train.py CONFIG --amp fp32` trains in full precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),  # bf16 needs no loss scaling
    # fused: one kernel updates every parameter (AdamW's math, in fp32)
    optimizer=dict(type='AdamW', lr=2e-5, weight_decay=1e-6, fused=True),
    clip_grad=dict(max_norm=10, norm_type=2))
max_iters = 40000
# the reference's lr at iteration t is lr0 * (1 - t / 40000) ** 0.9
# (train_utils.py); mmengine's PolyLR decays over `end - begin - 1` steps, so
# `end` is one past the last iteration (end=40000 would reach 0 one
# iteration early: (1 - t / 39999) ** 0.9)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters + 1,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the reference's lr is for 2 GPUs x 2 images; `tools/train.py --auto-scale-lr`
# scales it linearly to the batch actually used (GPUs x batch_size)
auto_scale_lr = dict(enable=False, base_batch_size=4)
