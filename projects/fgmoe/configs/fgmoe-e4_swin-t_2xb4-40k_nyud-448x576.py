# Table 6 row "4": 4 routed experts per MoE, 2 shared; top-K stays 3.
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(
    decoder=dict(
        task_moe=dict(num_routed=4, top_k=3),
        global_moe=dict(num_routed=4, top_k=3)))
