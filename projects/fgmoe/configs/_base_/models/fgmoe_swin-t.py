# FGMoE on Swin-T (4 stages, H/4 ... H/32). Weights: the mmseg UperNet
# ADE20K Swin-T checkpoint DeMT starts from (its `backbone.` part; the
# decoder-only configs use the ImageNet one instead).
_base_ = ['./fgmoe.py']
model = dict(
    backbone=dict(
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        img_size=224,
        window_size=7,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3)),
    pretrained=dict(
        checkpoint='checkpoints/upernet_swin_tiny_patch4_window7_512x512_'
        '160k_ade20k_pretrain_224x224_1K_20210531_112542-e380ad3e.pth',
        prefix='backbone.'),
    decoder=dict(in_channels=[96, 192, 384, 768]))
