# Table 6 row "6": 6 routed experts in each task-specific MoE, 2 shared,
# top-3 (the default).
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
