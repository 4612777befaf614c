#!/usr/bin/env bash
# The GPU check, as one prepared call on a machine with a CUDA GPU (e.g. a lent H200):
#
#   bash scripts/gpu_check.sh [OUTDIR]        # OUTDIR defaults to $OUT, else out/gpu-check
#
# It records the machine, installs this project into the machine's own Python (no network is
# assumed: the GPU runtimes come from the [gpu] extra where an index is reachable, else from the
# machine's image, plus any wheels carried in .whl/), runs the GPU tests (pytest -m gpu) and the
# CPU-visible device tests, then bench/scoring.py on the GPU for a 17-layer 64-channel CNN and an
# RRDB-sized net (23 blocks, 64 features) on 512×512 inputs. Each step has its own time limit so
# the whole stays under 8 minutes on an H200; every step's output lands in OUTDIR.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-out/gpu-check}}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
started=$(date +%s)
step() { echo "== $1 ($(( $(date +%s) - started )) s)" | tee -a "$out/summary.txt"; }

step "machine"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  "$py" --version
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt" >>"$out/summary.txt"

step "install"
{
  if [ -d .whl ]; then
    "$py" -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
  fi
  if ! "$py" -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers()"; then
    timeout 120 "$py" -m pip install -q "onnxruntime-gpu>=1.20,<2" ||
      echo "onnxruntime-gpu could not be installed: ONNX models stay on the CPU here"
  fi
  # The sandbox child runs `python -I` (no PYTHONPATH): the package must be installed.
  "$py" -m pip install -q --no-deps --no-build-isolation --no-index --force-reinstall .
  "$py" - <<'EOF'
import onnxruntime, torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.version.cuda)
print("onnxruntime", onnxruntime.__version__, onnxruntime.get_available_providers())
EOF
} >"$out/install.txt" 2>&1
tail -n 3 "$out/install.txt" >>"$out/summary.txt"

pytest_args=(-p no:cacheprovider -o addopts= -q -rs --import-mode=importlib)
step "pytest -m gpu tests/gpu"
timeout 240 "$py" -m pytest "${pytest_args[@]}" -m gpu tests/gpu >"$out/pytest-gpu.txt" 2>&1
echo "exit $?" >>"$out/pytest-gpu.txt"
tail -n 8 "$out/pytest-gpu.txt" >>"$out/summary.txt"

step "device and torch-metric tests"
timeout 120 "$py" -m pytest "${pytest_args[@]}" tests/core/test_device.py \
  tests/core/test_torch_metrics.py >"$out/pytest-device.txt" 2>&1
echo "exit $?" >>"$out/pytest-device.txt"
tail -n 4 "$out/pytest-device.txt" >>"$out/summary.txt"

for model in conv17 rrdb; do
  step "bench/scoring.py --device cuda --model $model"
  timeout 150 "$py" bench/scoring.py --device cuda --model "$model" --format torchscript \
    --side 512 --tasks 10 --threads 4 >"$out/bench-$model.txt" 2>&1
  echo "exit $?" >>"$out/bench-$model.txt"
  cat "$out/bench-$model.txt" >>"$out/summary.txt"
done
step "done"
cat "$out/summary.txt"
