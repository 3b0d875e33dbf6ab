# SAK stage 2 on NYUD-v2 (paper Table 6): ViT-L/16 student distilled from
# DINOv2-L, CLIP-L/14@336 and SAM-L, 4 tasks, 448x576 crops, 40k iterations
# at 2 images per GPU, starting from a stage-1 (ImageNet) checkpoint.
_base_ = [
    '../_base_/models/sak_vitl.py', '../_base_/datasets/nyud.py',
    '../_base_/tasks/nyud.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(crop_size={{_base_.crop_size}}, heads={{_base_.nyud_heads}})
# the stage-1 student (its aligners are dropped when loading, as in the paper)
load_from = ('work_dirs/sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
# Delta_m against the paper's ViT-L single-task baselines (Table 6)
val_evaluator = dict(reference={{_base_.nyud_vitl_references}})
test_evaluator = val_evaluator
