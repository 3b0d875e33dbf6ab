# Table 4, "stage 1 only": the stage-1 student is fine-tuned on the tasks
# without distillation in stage 2 (no teacher is built or run).
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(build_teachers=False)
