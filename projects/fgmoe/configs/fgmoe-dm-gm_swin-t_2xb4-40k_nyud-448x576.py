# The "w/ DM+GM" row of the paper's Table 5: deformable mixers and the
# global MoE, no task-specific MoEs.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(decoder=dict(task_moe=None))
