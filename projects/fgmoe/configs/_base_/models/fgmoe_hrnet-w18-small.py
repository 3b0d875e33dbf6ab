# FGMoE on HRNet-W18-small (HRNetV2-W18-Small-v2: 4 branches, H/4 ... H/32,
# 2 blocks per branch; 3.86 M parameters), the "HRNet18" of the paper's
# Table 1 and of the rows it compares with (MTI-Net, ATRC), as in MMSeg's
# fcn_hr18s. Weights: MMSegmentation's ImageNet HRNetV2-W18-Small
# (`open-mmlab://msra/hrnetv2_w18_small`), a bare state dict in the
# official HRNet layout; its classification head is not loaded.
_base_ = ['./fgmoe.py']
model = dict(
    backbone=dict(
        type='mmpretrain.HRNet',
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(2, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(2, 2), num_channels=(18, 36)),
            stage3=dict(num_modules=3, num_branches=3, block='BASIC',
                        num_blocks=(2, 2, 2), num_channels=(18, 36, 72)),
            stage4=dict(num_modules=2, num_branches=4, block='BASIC',
                        num_blocks=(2, 2, 2, 2),
                        num_channels=(18, 36, 72, 144)))),
    pretrained=dict(
        checkpoint='checkpoints/hrnetv2_w18_small-b5a04e21.pth',
        ignore=('incre_modules.', 'downsamp_modules.', 'final_layer.',
                'classifier.')),
    decoder=dict(in_channels=[18, 36, 72, 144]))
