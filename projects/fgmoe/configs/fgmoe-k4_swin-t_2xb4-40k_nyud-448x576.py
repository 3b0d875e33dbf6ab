# Table 7 row "4": top-4 of 6 routed experts, 2 shared.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(
    decoder=dict(task_moe=dict(top_k=4), global_moe=dict(top_k=4)))
