# SAK stage 2 on PASCAL-Context (paper Table 5): ViT-L/16 student distilled
# from DINOv2-L, CLIP-L/14@336 and SAM-L, 5 tasks, 512x512 crops, 40k
# iterations at 2 images per GPU, starting from the stage-1 student.
_base_ = [
    '../_base_/models/sak_vitl.py', '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(crop_size={{_base_.crop_size}}, heads={{_base_.pascal_heads}})
# the stage-1 student (its aligners are dropped when loading, as in the paper)
load_from = ('work_dirs/sak-stage1_vitl-dinov2l-clipl-saml_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
# Delta_m against the paper's ViT-L single-task baselines (Table 5)
val_evaluator = dict(reference={{_base_.pascal_vitl_references}})
test_evaluator = val_evaluator
