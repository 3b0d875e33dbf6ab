# Table 7 teacher subset, stage 2 on PASCAL-Context: dinov2b + clipb only.
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
model = dict(
    teachers=dict(
        _delete_=True,
        dinov2={{_base_.dinov2_vitb14}},
        clip={{_base_.clip_vitb16}}))
load_from = ('work_dirs/sak-stage1_vitb-dinov2b-clipb_8xb16-30e_in1k-384px/'
             'epoch_30.pth')
