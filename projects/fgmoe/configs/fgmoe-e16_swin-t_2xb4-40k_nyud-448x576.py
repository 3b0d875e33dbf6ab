# Table 6 row "16": 16 routed experts in each task-specific MoE
# (2 shared, top-3). The global MoE keeps the paper's 2 + 6, top-3:
# Table 6 varies the intra-task experts.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(decoder=dict(task_moe=dict(num_routed=16)))
