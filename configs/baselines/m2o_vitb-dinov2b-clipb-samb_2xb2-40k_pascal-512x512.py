# Many-to-one distillation without biases, stage 2 on PASCAL-Context: the
# heads read the shared representation, distillation continues through the
# aligners, no routers.
_base_ = ['../sak/sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(backbone=dict(adapter_paths=False), aligners=True, neck=None)
custom_hooks = []
load_from = ('work_dirs/m2o-stage1_vitb-dinov2b-clipb-samb_8xb16-30e_in1k-'
             '384px/epoch_30.pth')
