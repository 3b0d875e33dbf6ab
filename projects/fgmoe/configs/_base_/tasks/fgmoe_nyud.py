# The NYUD-v2 heads of FGMoE (DeMT's conv heads) with the paper's task
# weights beta (eq. (16)-(17)): semseg 1, depth 1, normals 10, boundary 50.
fgmoe_nyud_heads = dict(
    semseg=dict(
        out_channels=40,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    depth=dict(out_channels=1, loss=dict(type='MaskedL1Loss', loss_weight=1.0)),
    normals=dict(
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0)),
)
# single-task baselines of the paper, the Delta_m references
nyud_vitl_single_task = {  # Table 2
    'semseg/mIoU': 56.77, 'depth/RMSE': 0.5141, 'normals/mErr': 18.56,
    'edge/odsF': 78.93}
nyud_swint_single_task = {  # Tables 5-7
    'semseg/mIoU': 42.92, 'depth/RMSE': 0.6104, 'normals/mErr': 20.94,
    'edge/odsF': 76.2}
