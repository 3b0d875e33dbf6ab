# Single-task baseline (sal) on PASCAL-Context with ViT-B/16: one head on a
# plain ViT; its result is this task's reference for the MTL gain.
_base_ = ['./mtl_vitb_2xb2-40k_pascal-512x512.py']
tasks = ['sal']  # the model, the datasets and the metrics take it
