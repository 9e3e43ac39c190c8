#!/usr/bin/env bash
# The CPU against a GPU (issue 35), one script that needs no network and ends in minutes:
# the GPU's name, fit's training step per second on each device (tools/bench_train.py
# --throughput), then a 2-fold cross-validation of hapt-dev on each device, with its wall time
# and figures. Where torch sees no GPU it runs the CPU half alone (make test-slow runs it here).
#
#   here:               bash tools/gpu_check.sh
#   a lent GPU machine: make gpu-bundle, then the device tool's run with
#                       command "bash tools/gpu_check.sh" and carry [".gpu"]
#
# The lent machine has Python 3.12 with its own torch (CUDA), numpy, pandas, matplotlib, rich and
# typer, and no package index: make gpu-bundle puts what else training imports (pydantic's
# wheels) and the hapt-dev recordings in .gpu/ (ignored by git, about 27 MB), and the checkout
# itself is the package (PYTHONPATH), so nothing is built there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
if ! "$PYTHON" -c "import pydantic" 2> /dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/edge-har-site \
    .gpu/wheels/*.whl
  export PYTHONPATH=/tmp/edge-har-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
DATA=${DATA:-.gpu/hapt-dev}
[ -d "$DATA" ] || DATA=../shared/data/hapt-dev
EPOCHS=${EPOCHS:-10}  # per training; --wear fixed, no trials: the same work on each device
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" - << 'PY'
import platform
import torch
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none (the CPU half only)"
print(f"GPU: {gpu}; torch {torch.__version__}; Python {platform.python_version()}; {torch.get_num_threads()} CPU threads")
PY
"$PYTHON" tools/bench_train.py --throughput --data "$DATA" --steps 30
devices=cpu
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" && devices="cpu cuda"
for device in $devices; do
  started=$(date +%s)
  "$PYTHON" -m edge_har train --data "$DATA" --cv 2 --wear fixed --epochs "$EPOCHS" --device "$device" \
    --out "$WORK/cv-$device" > "$WORK/cv-$device.log"
  seconds=$(( $(date +%s) - started ))
  "$PYTHON" - "$WORK/cv-$device/metrics.json" "$device" "$seconds" << 'PY'
import json, sys
metrics, device, seconds = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
cv = metrics["cv"]
folds = ", ".join(f"{f['test_subject']} {f['accuracy']:.4f}" for f in cv["folds"])
print(f"2-fold CV on {device}: {seconds} s in all (2 folds and the final model), mean accuracy "
      f"{cv['mean_accuracy']:.4f}; {folds}")
PY
done
