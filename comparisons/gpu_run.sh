#!/bin/bash
# Issue 28's GPU run in one command, about 8 minutes at most on one H200: comparisons/bench_gpu.py
# first (so that its first-call figure is a cold compile), then the kernel's and the APG graph's CUDA tests.
#
#     comparisons/gpu_run.sh [OUTDIR]
#
# Writes OUTDIR/bench_gpu.json and the whole output to OUTDIR/gpu_run.log (OUTDIR defaults to
# comparisons/results). Needs torch with CUDA, triton, numpy, gymnasium, tqdm and pytest;
# BENCH_TIMEOUT and TEST_TIMEOUT (seconds, default 400 and 90) bound the two parts; BENCH_ARGS
# (default none) passes options to bench_gpu.py, e.g. BENCH_ARGS="--batches 4096 1048576 --apg-batches 256 16384"
# for a shorter run.
set -o pipefail
cd "$(dirname "$0")/.." || exit 1
out=${1:-comparisons/results}
mkdir -p "$out" || exit 1
python=${PYTHON:-python3}
export PYTHONPATH=$PWD/pyside${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"
  timeout "${BENCH_TIMEOUT:-400}" $python comparisons/bench_gpu.py ${BENCH_ARGS:-} --out "$out/bench_gpu.json"
  echo "bench_gpu.py exit $?"
  timeout "${TEST_TIMEOUT:-90}" $python -m pytest -q -p no:cacheprovider -W ignore::RuntimeWarning tests/envs/test_trebuchet_triton.py tests/train/test_pendulum_graph.py
  echo "pytest exit $?"
  date -u
} 2>&1 | tee "$out/gpu_run.log"
