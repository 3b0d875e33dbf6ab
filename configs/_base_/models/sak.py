# SAK's architecture at any size: a ViT/16 Teacher-Agnostic Stem with one
# adapter path per teacher, the MoR neck and the distillation loss. The size
# bases (sak_vitl.py, sak_vitb.py) choose the stem and the teachers; the top
# config gives the crop size (model.crop_size: the stem, the teachers and the
# data preprocessor get it from there) and the heads.
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
        # the stem blocks are recomputed in backward (the same values, about
        # a third of the memory a step keeps, one more stem forward);
        # 'selective' recomputes only their norms, GELUs and weight casts,
        # False nothing (docs/benchmark.md)
        with_cp=True),
    neck=dict(type='MoRNeck', noisy_gating=True, noise='pixel', mode='mor'),
    # recomputed in backward from its inputs (the same values), instead of
    # keeping fp32 maps at the teachers' resolution
    distill_loss=dict(
        type='DistillLoss', cos_weight=0.9, smooth_l1_weight=0.1,
        loss_weight=1.0, with_cp=True),
    aligners='auto')

# record the MoR gate scores of every val/test run (<mode>_router_weights.json
# in the work dir; plot with tools/analysis/router_weights.py --json)
custom_hooks = [dict(type='RouterWeightsHook')]
