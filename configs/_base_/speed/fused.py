# The speed layer: every module with a fused Triton variant is built as it
# (sak_mm.ops: FusedTSAPBackbone, FusedMoRNeck; same weights and values).
# Not timed on a GPU yet, so not a default: add this file to a config's
# _base_ (or pass --cfg-options fused_kernels=True) and compare with
# `python tools/benchmarks/speed_check.py CONFIG` (docs/benchmark.md).
fused_kernels = True
