# Table 7 teacher subset, stage 2 on PASCAL-Context: samb only.
_base_ = ['../sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
crop_size = (512, 512)
model = dict(
    teachers=dict(
        _delete_=True,
        sam=dict(type='SAMTeacher', arch='vit_b', checkpoint='checkpoints/teachers/sam_vit_b_01ec64.pth'),
    ))
load_from = ('work_dirs/sak-stage1_vitb-samb_8xb16-30e_in1k-384px/'
             'epoch_30.pth')
