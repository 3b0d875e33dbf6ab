# Fig. 5: SAK trained on the first 50 % of PASCAL-Context train (2499 images).
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
train_dataloader = dict(dataset=dict(indices=2499))
