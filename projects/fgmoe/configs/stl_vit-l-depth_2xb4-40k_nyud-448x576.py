# Single-task baseline (depth) of the paper's Table 2 (NYUD-v2, ViT-L): the backbone, the feature
# aggregator and one conv head.
_base_ = ['./fgmoe_vit-l_2xb4-40k_nyud-448x576.py']
tasks = ['depth']  # the model, the datasets and the metrics take it
model = dict(decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
