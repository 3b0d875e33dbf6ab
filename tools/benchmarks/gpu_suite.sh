#!/usr/bin/env bash
# The speed work's one command, on one CUDA GPU with random weights (nothing
# is downloaded): first the decision table (tools/benchmarks/speed_check.py:
# the default path and every speed option side by side, img/s, peak memory,
# loss difference, which is faster, and which option FAILED to compile), then
# the GPU correctness tests (compiled Triton kernels, bf16 teachers, compiled
# model, CUDA graphs), a short bf16-AMP demo training through tools/train.py
# with the speed layer on, the kernel table and the model table.
#
#   bash tools/benchmarks/gpu_suite.sh [OUT_DIR] [PARTS...]
#
# OUT_DIR defaults to work_dirs/gpu_suite; PARTS to all of: check tests train
# ops bench-train bench-compile bench-infer (several minutes each on an H100,
# so a time-limited session can run them one call at a time; the markdown
# table collects the rows of every call into the same OUT_DIR). Everything
# printed is also written to OUT_DIR (check.txt, tests.log, train.log,
# ops.txt, benchmark.txt, and benchmark_table.md: one markdown row per
# benchmark run). Without a GPU, `python tools/benchmarks/speed_check.py
# --reduced` runs the check's code on the CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-work_dirs/gpu_suite}
shift || true
PARTS=${*:-check tests train ops bench-train bench-compile bench-infer}
mkdir -p "$OUT"
python -c "import torch, sys; torch.cuda.is_available() or sys.exit('gpu_suite.sh needs a CUDA GPU')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
part() { [[ " $PARTS " == *" $1 "* ]]; }
L=configs/sak/sak_vitl_nyud.py

if part check; then
echo "## Default path vs each speed option (ViT-L NYUD, batch 8, bf16)"
# a failed option is reported in the table; the suite goes on
python tools/benchmarks/speed_check.py $L --batch 8 | tee "$OUT/check.txt" || true
fi

if part tests; then
echo "## GPU correctness tests"
python -m pytest -q -p no:cacheprovider tests/test_ops tests/test_models 2>&1 | tee "$OUT/tests.log"
fi

if part train; then
echo "## bf16 AMP demo training (AmpOptimWrapper, speed layer on, resume)"
python tools/misc/make_demo_data.py "$OUT/nyud_demo" > /dev/null
DEMO=(--work-dir "$OUT/demo" --amp bf16 --cfg-options
      "train_dataloader.dataset.data_root=$OUT/nyud_demo"
      "val_dataloader.dataset.data_root=$OUT/nyud_demo"
      "test_dataloader.dataset.data_root=$OUT/nyud_demo"
      fused_kernels=True)
{
  python tools/train.py configs/demo/sak_tiny_demo.py "${DEMO[@]}" \
    train_cfg.max_iters=40 train_cfg.val_interval=40 \
    default_hooks.checkpoint.interval=20
  python tools/train.py configs/demo/sak_tiny_demo.py "${DEMO[@]}" \
    train_cfg.max_iters=60 train_cfg.val_interval=60 --resume
} 2>&1 | grep -E "Iter\(train\)|Iter\(val\)|resumed|Traceback|Error:" | cut -c1-220 | tee "$OUT/train.log"
fi

if part ops; then
echo "## Fused kernels vs eager vs torch.compile"
python tools/benchmarks/benchmark_ops.py | tee "$OUT/ops.txt"
fi

B=tools/benchmarks/benchmark.py
TABLE="$OUT/benchmark_table.md"
row() { echo "### $*"; python "$B" "$@" --markdown-row "$TABLE"; echo; }

if part bench-train; then
echo "## Model benchmark: training"
{
  row $L --mode train --batch 8 --amp bf16 --iters 10 --profile 2
  row $L --mode train --batch 8 --amp bf16 --iters 10 --cfg-options fused_kernels=True --profile 2
  row $L --mode train --batch 8 --amp bf16 --iters 10 --cfg-options model.backbone.with_cp=False
  row $L --mode train --batch 8 --amp bf16 --iters 10 --cfg-options model.backbone.with_cp=True
  row $L --mode train --batch 2 --amp fp32 --iters 10
  row configs/sak/sak_vitb_nyud.py --mode train --batch 8 --amp bf16 --iters 10
} 2>&1 | tee -a "$OUT/benchmark.txt"
fi

if part bench-compile; then
echo "## Model benchmark: training with torch.compile"
{
  row $L --mode train --batch 8 --amp bf16 --iters 10 --cfg-options model.compile.teachers=True
  row $L --mode train --batch 8 --amp bf16 --iters 10 --cfg-options model.compile.teachers=True model.compile.student=True
} 2>&1 | tee -a "$OUT/benchmark.txt"
fi

if part bench-infer; then
echo "## Model benchmark: inference"
{
  row $L --mode infer --batch 1 --amp fp32 --iters 30
  row $L --mode infer --batch 1 --amp bf16 --iters 30 --profile 5
  row $L --mode infer --batch 1 --amp bf16 --iters 30 --cfg-options model.compile.predict.mode=reduce-overhead
  row $L --mode infer --batch 32 --amp bf16 --iters 10
  row $L --mode infer --batch 32 --amp bf16 --iters 10 --cfg-options model.compile.predict.mode=max-autotune-no-cudagraphs
} 2>&1 | tee -a "$OUT/benchmark.txt"
fi

if [ -f "$TABLE" ]; then
  echo "## Table for docs/benchmark.md (rows of every run into $OUT)"
  cat "$TABLE"
fi
