# Heads of the decoder-only protocol (Tables 3-4, MTLoRA's losses with the
# paper's task weights): saliency is one channel with the batch-balanced BCE.
fgmoe_pascal_mtlora_heads = dict(
    semseg=dict(
        out_channels=21,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    human_parts=dict(
        out_channels=7,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=2.0)),
    sal=dict(
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=None, loss_weight=5.0)),
    normals=dict(
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
)
fgmoe_nyud_mtlora_heads = dict(
    semseg=dict(
        out_channels=40,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    depth=dict(out_channels=1, loss=dict(type='MaskedL1Loss', loss_weight=1.0)),
)
# the single-task baselines of Tables 3 and 4 (Swin-T), Delta_m references
pascal_mtlora_single_task = {
    'semseg/mIoU': 67.21, 'human_parts/mIoU': 61.93, 'sal/mIoU': 62.35,
    'normals/mErr': 17.97}
nyud_mtlora_single_task = {'semseg/mIoU': 33.18, 'depth/RMSE': 0.667}
