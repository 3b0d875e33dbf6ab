# "MTL-Tuning Decoder Only" of the paper's Table 4: frozen Swin-T, the
# feature aggregator and one conv head per task.
_base_ = ['./fgmoe_swin-t_decoder-only_2xb4-40k_nyud-448x448.py']
model = dict(decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
