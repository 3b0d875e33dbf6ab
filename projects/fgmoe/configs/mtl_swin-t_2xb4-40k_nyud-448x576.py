# Multi-task baseline of the paper's Table 5: Swin-T, the feature aggregator
# and one conv head per task; no deformable mixer (DM), no global MoE (GM),
# no task-specific MoEs (TSM).
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
