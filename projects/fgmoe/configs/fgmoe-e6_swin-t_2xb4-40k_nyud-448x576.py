# Table 6 row "6": 6 routed experts per MoE, 2 shared (the default).
_base_ = ['./fgmoe_swin-t_2xb4-40k_nyud-448x576.py']
