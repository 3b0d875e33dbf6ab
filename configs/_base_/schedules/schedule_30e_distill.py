# Stage 1 (the SAK reference's train_s1.py and configs/s1/*.yml): AdamW lr
# 1e-3, wd 0.01, 30 epochs, no gradient clipping; per iteration, a linear
# warm-up from 1.25e-7 over 2 epochs, then cosine annealing to 1e-5 over the
# other 28 (timm's CosineLRScheduler, warmup_prefix=True, as the reference
# steps it). bf16 autocast (AmpOptimWrapper); `tools/train.py CONFIG --amp
# fp32` trains in full precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),  # bf16 needs no loss scaling
    # fused: one kernel updates every parameter (AdamW's math, in fp32)
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01, fused=True))
param_scheduler = [
    dict(type='WarmupCosineLR', warmup=2, warmup_start=1.25e-7, eta_min=1e-5,
         by_epoch=True, begin=0, end=30, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
# the reference's lr is for 8 GPUs x 16 images; `tools/train.py
# --auto-scale-lr` scales it linearly to the batch actually used
auto_scale_lr = dict(enable=False, base_batch_size=128)
