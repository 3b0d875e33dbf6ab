# Table 6 row "2": 2 routed experts per MoE, 2 shared; top-K is 2 (K <= experts).
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
model = dict(
    decoder=dict(
        task_moe=dict(num_routed=2, top_k=2),
        global_moe=dict(num_routed=2, top_k=2)))
