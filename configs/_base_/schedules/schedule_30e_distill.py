# Stage 1 (paper App. B / reference code): AdamW lr 1e-3, wd 0.01, cosine
# decay to 1.25e-6 after 2 linear warm-up epochs from 1.25e-7, stepped per
# epoch, 30 epochs, no gradient clipping. bf16 autocast (AmpOptimWrapper);
# `tools/train.py CONFIG --amp fp32` trains in full precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),  # bf16 needs no loss scaling
    # fused: one kernel updates every parameter (AdamW's math, in fp32)
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01, fused=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.25e-4, by_epoch=True, begin=0,
         end=2),
    dict(type='CosineAnnealingLR', T_max=28, eta_min=1.25e-6, by_epoch=True,
         begin=2, end=30),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
