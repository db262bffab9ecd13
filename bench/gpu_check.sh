#!/usr/bin/env bash
# The GPU checks in one run: training step vs bare rfdetr train(), then video inference throughput
# (half precision, the default on a GPU, with its agreement with float32; then float32), then the
# class-weighted loss against the unweighted one.
# Expects rfdetr and its missing dependencies as wheels in .whl/ (see BENCHMARKS.md); results in $OUT.
set -o pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
nproc | tee -a "$OUT/gpu.txt"
python3 bench/train_step.py --model nano --resolution 384 --epochs 3 --clips 30 --repeats 2 --batch-size 16 \
  --num-workers 4 --keep /tmp/bench_ckpt.pth 2>&1 | grep -v -i "warn" | tee "$OUT/train_step.txt"
if [ -f /tmp/bench_ckpt.pth ]; then
  python3 bench/infer_throughput.py /tmp/bench_ckpt.pth --frames 300 --repeats 3 --batch-size 16 2>&1 \
    | grep -v -i "warn" | tee "$OUT/infer_throughput.txt"
  # the same in full precision, to see what half precision buys
  python3 bench/infer_throughput.py /tmp/bench_ckpt.pth --frames 300 --repeats 2 --batch-size 16 --precision float32 2>&1 \
    | grep -v -i "warn" | tee "$OUT/infer_throughput_float32.txt"
fi
# the class-weighted loss against the same training unweighted (the overhead should be within noise)
python3 bench/weighted_loss.py --model nano --resolution 384 --epochs 2 --clips 30 --repeats 2 --batch-size 16 \
  --num-workers 4 2>&1 | grep -v -i "warn" | tee "$OUT/weighted_loss.txt"
# k Nano trainings packed on the one GPU (gpu_allocation.runs_per_gpu): trainings per GPU-hour at k = 1, 2, 4
python3 bench/pack_throughput.py --model nano --resolution 384 --epochs 2 --clips 30 --repeats 1 --batch-size 16 \
  --num-workers 2 --ks 1 2 4 2>&1 | grep -v -i "warn" | tee "$OUT/pack_throughput_384.txt"
python3 bench/pack_throughput.py --model nano --resolution 640 --epochs 2 --clips 30 --repeats 1 --batch-size 8 \
  --num-workers 2 --ks 1 2 4 2>&1 | grep -v -i "warn" | tee "$OUT/pack_throughput_640.txt"
