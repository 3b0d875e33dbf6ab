default_scope = 'sak_mm'
# mmengine's Runner with weights-only checkpoints (sak_mm.engine.SAKRunner)
runner_type = 'SAKRunner'

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # a kill or a NaN never costs the last good checkpoint: atomic writes,
    # last_checkpoint after the checkpoint, rotation last
    # (sak_mm.engine.hooks.SafeCheckpointHook)
    checkpoint=dict(
        type='SafeCheckpointHook',
        by_epoch=False,
        interval=4000,
        max_keep_ckpts=2,
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='MultiTaskVisualizationHook', draw=False),
    # trainable / frozen parameters per component, logged at the start
    param_report=dict(type='ParameterReportHook'),
    # refuse heads whose task the training set does not provide
    dataset_tasks=dict(type='DatasetTasksHook'),
    # stop at the first NaN / infinite loss, before it is saved
    finite_loss=dict(type='FiniteLossHook'),
    # torch's generator states in checkpoints: --resume repeats the run
    rng_state=dict(type='RNGStateHook'),
)

# Switch on to also log scalars and images to TensorBoard (tools/train.py
# adds the backend): --cfg-options tensorboard=True
tensorboard = False

vis_backends = [dict(type='LocalVisBackend')]
# no fixed name: each Runner names its visualizer after its experiment, so
# several runs in one process never share (and misdirect) one instance
visualizer = dict(type='MultiTaskVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
# a load_from file with tensors of other shapes, or keys the model lacks, is
# refused; False loads it anyway, leaving those weights at init
load_strict = True
resume = False
# --resume refuses a config whose max_iters, optimizer, schedulers or batch
# size differ from the checkpoint's (the optimizer and schedulers continue
# as saved); True resumes anyway, with a warning naming them
resume_allow_changes = False
randomness = dict(seed=0)
