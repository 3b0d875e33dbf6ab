# Frozen-teacher probing (paper Fig. 1 left, Table 2 "oracle"): a frozen
# teacher's 4 levels (with its own preprocessing) feed one simple head per
# task; only the heads train. The top config picks the teacher (a preset of
# ../teachers.py), the crop size and the heads.
# (the data preprocessor is the default one: ImageNet statistics, batches
# padded to a multiple of 16 and to the crop)
model = dict(
    type='MultiTaskEncoderDecoder',
    backbone=dict(type='FrozenTeacherBackbone'),
    decoder=dict(type='TaskHeads'))
