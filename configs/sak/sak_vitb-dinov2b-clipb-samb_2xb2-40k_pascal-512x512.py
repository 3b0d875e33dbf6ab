# SAK stage 2 on PASCAL-Context with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 and the ablations of Section 4.3). Table 3's ViT-B
# single-task baselines are not in the text; set val_evaluator.reference to
# them to report Delta_m.
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/pascal_context.py',
    '../_base_/tasks/pascal_context.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(crop_size={{_base_.crop_size}}, heads={{_base_.pascal_heads}})
load_from = ('work_dirs/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
