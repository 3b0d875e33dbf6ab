# FGMoE on HRNet-W18 (4 branches, H/4 ... H/32). Weights: mmpretrain's
# ImageNet HRNet-W18 (its `backbone.` part).
_base_ = ['./fgmoe.py']
model = dict(
    backbone=dict(type='mmpretrain.HRNet', arch='w18'),
    pretrained=dict(
        checkpoint='checkpoints/hrnet-w18_3rdparty_8xb32_in1k_'
        '20220120-0c10b180.pth',
        prefix='backbone.'),
    decoder=dict(in_channels=[18, 36, 72, 144]))
