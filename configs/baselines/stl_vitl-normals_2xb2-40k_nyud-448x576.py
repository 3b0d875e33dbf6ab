# Single-task baseline (normals) on NYUD-v2 with ViT-L/16 (Table 6, the Delta_m
# references): one head on a plain ImageNet ViT.
_base_ = ['./mtl_vitl_2xb2-40k_nyud-448x576.py']
tasks = ['normals']  # the model, the datasets and the metrics take it
