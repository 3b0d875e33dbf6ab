# Single-task baseline (sal) of the paper's Table 3: Swin-T trained with
# the feature aggregator and one conv head.
_base_ = ['./fgmoe_swin-t_decoder-only_2xb4-40k_pascal-448x448.py']
tasks = ['sal']  # the model, the datasets and the metrics take it
model = dict(freeze_backbone=False, decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
