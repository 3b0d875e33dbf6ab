# Single-task baseline (semseg) of the paper's Tables 5-7 (NYUD-v2, Swin-T): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
tasks = ['semseg']  # the model, the datasets and the metrics take it
model = dict(decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
