# Short name of sak_vitb-dinov2b-clipb-samb_2xb2-40k_nyud-448x576.py
_base_ = ['./sak_vitb-dinov2b-clipb-samb_2xb2-40k_nyud-448x576.py']
