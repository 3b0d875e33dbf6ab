# Short name of sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py
_base_ = ['./sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py']
