# Table 7 row "3": top-3 of the 6 routed experts in each task-specific MoE,
# 2 shared (the default).
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
