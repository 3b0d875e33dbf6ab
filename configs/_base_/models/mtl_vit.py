# The multi-task baseline of SAK (Tables 5-6): an ImageNet ViT/16 alone (the
# Teacher-Agnostic Stem: no teachers, adapters or routers) whose 4 levels
# feed one simple head per task. The top config gives the size, the stem's
# ImageNet weights (timm's, converted with
# tools/model_converters/timm_vit_to_mmpretrain.py), the crop size and the
# heads.
# (the data preprocessor is the default one: ImageNet statistics, batches
# padded to a multiple of 16 and to the crop)
model = dict(
    type='MultiTaskEncoderDecoder',
    backbone=dict(
        type='TASBackbone',
        stem=dict(
            type='mmpretrain.VisionTransformer',
            patch_size=16,
            final_norm=False,
            out_type='raw',
            drop_path_rate=0.0,
            init_cfg=dict(type='Pretrained', prefix='backbone.')),
        with_cp=True),
    decoder=dict(type='TaskHeads'))
