# FGMoE on Swin-L (window 12, pretrained at 384 px). Weights: the mmseg
# UperNet ADE20K Swin-L checkpoint (its `backbone.` part).
_base_ = ['./fgmoe.py']
model = dict(
    backbone=dict(
        type='mmpretrain.SwinTransformer',
        arch='large',
        img_size=384,
        window_size=12,
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3)),
    pretrained=dict(
        checkpoint='checkpoints/upernet_swin_large_patch4_window12_512x512_'
        'pretrain_384x384_22K_160k_ade20k_20220318_091743-9ba68901.pth',
        prefix='backbone.'),
    decoder=dict(in_channels=[192, 384, 768, 1536]))
