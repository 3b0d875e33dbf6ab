# "MTL-Full Fine Tuning" of the paper's Table 4: as the decoder-only
# multi-task baseline, with the Swin-T trained too.
_base_ = ['./fgmoe_swin-t_decoder-only_2xb4-40k_nyud-448x448.py']
model = dict(freeze_backbone=False, decoder=dict(mixer=None, task_moe=None, global_moe=None))
custom_hooks = []  # no routers
