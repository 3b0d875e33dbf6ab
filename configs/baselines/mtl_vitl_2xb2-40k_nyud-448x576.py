# Multi-task baseline (paper Table 6, "Multi-task baseline"): a plain ViT-L/16
# shared by the four simple heads; no teachers, no adapters, no routers.
_base_ = [
    '../_base_/models/mtl_vit.py', '../_base_/datasets/nyud.py',
    '../_base_/tasks/nyud.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(
    crop_size={{_base_.crop_size}},
    backbone=dict(
        stem=dict(
            arch='large',
            init_cfg=dict(
                checkpoint='checkpoints/vit-large-p16_in21k-in1k-384.pth'))),
    decoder=dict(heads={{_base_.nyud_heads}}))
# Delta_m against the paper's ViT-L single-task baselines (Table 6)
val_evaluator = dict(reference={{_base_.nyud_vitl_references}})
test_evaluator = val_evaluator
