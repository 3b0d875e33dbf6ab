# Table 3 row 2: TSAP distilled in stage 1, but no MoR routers in stage 2:
# the TAS and the three TSAP representations are simply added.
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(neck=dict(mode='sum'))
custom_hooks = []
