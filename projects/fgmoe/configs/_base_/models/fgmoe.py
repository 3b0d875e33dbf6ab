# The FGMoE model: a backbone (set by the backbone bases) and the FGMoE
# decoder with the paper's defaults (Sec. 3, 4.1): C = 256, 2 shared and 6
# routed experts of hidden width 256 per MoE, top-3; each task config gives
# the heads. The decoder's code is this project's (custom_imports).
custom_imports = dict(
    imports=['projects.fgmoe.fgmoe'], allow_failed_imports=False)
model = dict(
    type='MultiTaskEncoderDecoder',
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
    decoder=dict(
        type='FGMoEDecoder',
        channels=256,
        mixer=dict(deform='channelwise', num_heads=4, attn_residual=False),
        task_moe=dict(hidden=256, num_shared=2, num_routed=6, top_k=3),
        global_moe=dict(hidden=256, num_shared=2, num_routed=6, top_k=3)))
# how often each expert is chosen, per task and for the global MoE
custom_hooks = [dict(type='ExpertUsageHook')]
# the aggregator's and the heads' batch norms see the whole batch across GPUs
sync_bn = 'torch'
