# SAK's architecture at any size: a ViT/16 Teacher-Agnostic Stem with one
# adapter path per teacher, the MoR neck and the distillation loss. The size
# bases (sak_vitl.py, sak_vitb.py) choose the stem and the teachers; the top
# config sets the image-size dependent fields and the heads.
model = dict(
    type='SAKDistiller',
    data_preprocessor=dict(
        type='MultiTaskDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        size_divisor=16),
    backbone=dict(
        type='TSAPBackbone',
        stem=dict(
            type='mmpretrain.VisionTransformer',
            patch_size=16,
            final_norm=False,
            out_type='raw',
            drop_path_rate=0.0),
        down_ratio=4,
        # all teachers' adapters of a block in one Triton kernel on CUDA
        # (sak_mm.ops; eager PyTorch elsewhere); with_cp=True trades stem
        # compute for activation memory
        fused_kernels=True,
        with_cp=False),
    neck=dict(
        type='MoRNeck', noisy_gating=True, noise='pixel', mode='mor',
        fused_kernels=True),
    distill_loss=dict(
        type='DistillLoss', cos_weight=0.9, smooth_l1_weight=0.1,
        loss_weight=1.0),
    aligners='auto')

# record the MoR gate scores of every val/test run (<mode>_router_weights.json
# in the work dir; plot with tools/analysis/router_weights.py --json)
custom_hooks = [dict(type='RouterWeightsHook')]
