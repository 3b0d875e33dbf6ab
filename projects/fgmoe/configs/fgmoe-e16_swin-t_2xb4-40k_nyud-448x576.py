# Table 6 row "16": 16 routed experts per MoE, 2 shared; top-K stays 3.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(
    decoder=dict(
        task_moe=dict(num_routed=16, top_k=3),
        global_moe=dict(num_routed=16, top_k=3)))
