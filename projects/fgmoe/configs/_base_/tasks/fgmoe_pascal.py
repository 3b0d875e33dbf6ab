# The PASCAL-Context heads of FGMoE (DeMT's conv heads) with the paper's
# task weights beta: semseg 1, human parts 2, saliency 5, normals 10,
# boundary 50. Saliency is the 2-way class-balanced cross-entropy and scored
# by maxF, as in the full-model protocol of Table 1.
fgmoe_pascal_heads = dict(
    semseg=dict(
        out_channels=21,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    human_parts=dict(
        out_channels=7,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=2.0)),
    sal=dict(
        out_channels=2,
        loss=dict(type='PixelCrossEntropyLoss', class_balanced=True,
                  loss_weight=5.0)),
    normals=dict(
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0)),
)
# Table 1's single-task baselines, the Delta_m references
pascal_hrnet18_single_task = {
    'semseg/mIoU': 62.23, 'human_parts/mIoU': 61.66, 'sal/maxF': 85.08,
    'normals/mErr': 13.69, 'edge/odsF': 73.06}
pascal_vitl_single_task = {
    'semseg/mIoU': 81.62, 'human_parts/mIoU': 72.21, 'sal/maxF': 84.34,
    'normals/mErr': 13.59, 'edge/odsF': 76.79}
pascal_swinl_single_task = {
    'semseg/mIoU': 79.26, 'human_parts/mIoU': 68.92, 'sal/maxF': 83.84,
    'normals/mErr': 14.28, 'edge/odsF': 74.50}
