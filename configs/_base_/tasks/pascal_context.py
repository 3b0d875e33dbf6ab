# The PASCAL-Context tasks' heads (simple heads with the reference's task
# weights; saliency uses the class-balanced cross-entropy, weights from each
# batch's label frequencies) and the paper's ViT-L single-task results
# (Table 5), the references of the multi-task gain Delta_m. Configs use them
# as model.heads={{_base_.pascal_heads}} and
# val_evaluator.reference={{_base_.pascal_vitl_references}}.
# each head and its loss a selective activation checkpointing region (the
# same values, less memory kept for backward)
simple_head = dict(type='SimpleHead', with_cp='selective')
# the heads' batch norms see the whole batch across GPUs
sync_bn = 'torch'
pascal_heads = dict(
    semseg=dict(
        simple_head,
        out_channels=21,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    human_parts=dict(
        simple_head,
        out_channels=7,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=2.0)),
    sal=dict(
        simple_head,
        out_channels=2,
        loss=dict(
            type='PixelCrossEntropyLoss', class_balanced=True,
            loss_weight=5.0)),
    normals=dict(
        simple_head,
        out_channels=3,
        loss=dict(type='MaskedL1Loss', normalize=True, loss_weight=10.0)),
    edge=dict(
        simple_head,
        out_channels=1,
        loss=dict(type='BalancedBCELoss', pos_weight=0.95, loss_weight=50.0)),
)
pascal_vitl_references = {
    'semseg/mIoU': 81.61,
    'human_parts/mIoU': 72.77,
    'sal/maxF': 83.80,
    'normals/mErr': 13.87,
    'edge/odsF': 75.24,
}
