# Short name of sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py
_base_ = ['./sak_vitb-dinov2b-clipb-samb_2xb2-40k_pascal-512x512.py']
