# SAK stage 2 on NYUD-v2 with a ViT-B/16 student and ViT-B teachers
# (paper Fig. 3 / Table 8): the ViT-L recipe with base-size models.
# Delta_m needs the ViT-B single-task baselines (paper Fig. 3 only); set
# val_evaluator.reference to them to report it.
_base_ = [
    '../_base_/models/sak_vitb.py', '../_base_/datasets/nyud.py',
    '../_base_/tasks/nyud.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/default_runtime.py'
]
model = dict(crop_size={{_base_.crop_size}}, heads={{_base_.nyud_heads}})
load_from = ('work_dirs/sak-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
