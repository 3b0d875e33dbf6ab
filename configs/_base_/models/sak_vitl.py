# SAK with a ViT-L/16 Teacher-Agnostic Stem and DINOv2-L, CLIP-L/14@336 and
# SAM-L teachers. Image-size dependent fields are set by the top config.
# Teacher weights are read from local files (see docs/weights.md).
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
            arch='large',
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
            arch='large',
            checkpoint='checkpoints/teachers/dinov2_vitl14_mmpretrain.pth'),
        clip=dict(
            type='CLIPTeacher',
            model_name='ViT-L-14-336',
            quick_gelu=True,  # OpenAI weights
            pretrained='checkpoints/teachers/clip_vitl14_336_openai.pt'),
        sam=dict(
            type='SAMTeacher',
            arch='vit_l',
            checkpoint='checkpoints/teachers/sam_vit_l_0b3195.pth'),
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
