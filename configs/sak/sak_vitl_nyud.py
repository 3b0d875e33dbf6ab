# Short name of sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py
_base_ = ['./sak_vitl-dinov2l-clipl-saml_2xb2-40k_nyud-448x576.py']
