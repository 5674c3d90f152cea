#!/bin/bash
# Issue 28's GPU run in one command, at most 8 minutes on one H200 with the default bounds:
# comparisons/bench_gpu.py first (so that its first-call figure is a cold compile), then the kernel's
# and the APG graph's CUDA tests, then the other CUDA tests (the trainers and benchmarks on the device).
#
#     comparisons/gpu_run.sh [OUTDIR]
#
# Writes OUTDIR/bench_gpu.json and the whole output to OUTDIR/gpu_run.log (OUTDIR defaults to
# comparisons/results); a bench_gpu.py stopped by its bound leaves the rows it finished in
# OUTDIR/bench_gpu.partial.json. Needs torch with CUDA, triton, numpy, gymnasium, tqdm, pytest and
# pytest-xdist. BENCH_TIMEOUT, TEST_TIMEOUT and DEVICE_TEST_TIMEOUT (seconds, default 300, 90 and 60:
# 450 s in all) bound the three parts; BENCH_ARGS (default none) passes options to bench_gpu.py, e.g.
# BENCH_ARGS="--batches 4096 1048576 --apg-batches 256 16384" for a shorter run.
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
  timeout "${BENCH_TIMEOUT:-300}" $python comparisons/bench_gpu.py ${BENCH_ARGS:-} --out "$out/bench_gpu.json"
  echo "bench_gpu.py exit $?"
  timeout "${TEST_TIMEOUT:-90}" $python -m pytest -q -p no:cacheprovider -W ignore::RuntimeWarning tests/envs/test_trebuchet_triton.py tests/train/test_pendulum_graph.py
  echo "pytest exit $?"
  timeout "${DEVICE_TEST_TIMEOUT:-60}" $python -m pytest -q -p no:cacheprovider -W ignore::RuntimeWarning -k cuda -rs \
    tests/test_devices.py tests/train/test_cartpole.py tests/train/test_pendulum.py \
    tests/comparisons/test_bench_envs.py tests/comparisons/test_bench_stacks.py
  echo "pytest (device) exit $?"
  date -u
} 2>&1 | tee "$out/gpu_run.log"
