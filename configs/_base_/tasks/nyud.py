# The NYUD-v2 tasks' heads (the paper's simple head, the reference's task
# weights) and the paper's ViT-L single-task results (Table 6), the
# references of the multi-task gain Delta_m. Configs use them as
# model.heads={{_base_.nyud_heads}} and
# val_evaluator.reference={{_base_.nyud_vitl_references}}.
# each head and its loss a selective activation checkpointing region (the
# same values, less memory kept for backward)
simple_head = dict(type='SimpleHead', with_cp='selective')
# the heads' batch norms see the whole batch across GPUs
sync_bn = 'torch'
nyud_heads = dict(
    semseg=dict(
        simple_head,
        out_channels=40,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    depth=dict(
        simple_head,
        out_channels=1,
        loss=dict(type='MaskedL1Loss', loss_weight=1.0)),
    normals=dict(
        simple_head,
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        simple_head,
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0)),
)
nyud_vitl_references = {
    'semseg/mIoU': 54.19,
    'depth/RMSE': 0.5560,
    'normals/mErr': 19.22,
    'edge/odsF': 78.09,
}
