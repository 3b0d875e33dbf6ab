# Single-task baseline (edge) of the paper's Table 1 (PASCAL-Context, hrnet-w18-small): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_hrnet-w18-small_2xb4-40k_pascal-512x512.py']
tasks = ['edge']  # the model, the datasets and the metrics take it
model = dict(decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
