# The paper's optimiser (Sec. 4.1): SGD, lr 1e-3, weight decay 5e-4; DeMT's
# momentum 0.9, polynomial decay (power 0.9) over 40k iterations and 8 images
# per step in total (the configs: 2 GPUs x 4). bf16 autocast; `tools/train.py CONFIG
# --amp fp32` trains in full precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=8)
