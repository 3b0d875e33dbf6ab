# SAK with a ViT-B/16 Teacher-Agnostic Stem and DINOv2-B/14, CLIP-B/16 and
# SAM-B teachers (paper Fig. 3, Table 8). Image-size dependent fields are
# set by the top config. Teacher weights are read from local files (see
# docs/weights.md).
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
            arch='base',
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
    teachers=dict(
        dinov2=dict(
            type='DINOv2Teacher',
            arch='base',
            checkpoint='checkpoints/teachers/dinov2_vitb14_mmpretrain.pth'),
        clip=dict(
            type='CLIPTeacher',
            model_name='ViT-B-16',
            quick_gelu=True,  # OpenAI weights
            pretrained='checkpoints/teachers/clip_vitb16_openai.pt'),
        sam=dict(
            type='SAMTeacher',
            arch='vit_b',
            checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ),
    neck=dict(
        type='MoRNeck', noisy_gating=True, mode='mor', fused_kernels=True),
    distill_loss=dict(
        type='DistillLoss', cos_weight=0.9, smooth_l1_weight=0.1,
        loss_weight=1.0),
    aligners='auto')

# record the MoR gate scores of every val/test run (<mode>_router_weights.json
# in the work dir; plot with tools/analysis/router_weights.py --json)
custom_hooks = [dict(type='RouterWeightsHook')]
