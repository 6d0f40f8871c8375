#!/usr/bin/env bash
# GPU measurements for docs/BENCHMARKS.md, run on a machine with a CUDA GPU from the repository root:
#   bash bench/gpu.sh            # writes bench/results/*_gpu.json and prints them as JSON
# The CLI end to end on MNIST-test (default pipeline, --k 10, --device cuda) with its peak host
# memory, and the training throughput: explorer.reducers.train's loop (data resident on the GPU) against a
# torch DataLoader loop. Then `python -m bench.report` puts the numbers in the GPU section.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${BENCH_OUT:-bench/results}
$PY -m bench.measure.speed cli --device cuda --out "$OUT" --tag _gpu >&2
$PY -m bench.measure.speed throughput --device cuda --epochs ${EPOCHS:-5} --repeats ${REPEATS:-3} --out "$OUT" --tag _gpu >&2
$PY - "$OUT" <<'PYEOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print(json.dumps({name: json.loads((out / f"{name}_gpu.json").read_text()) for name in ("cli", "throughput")}, indent=1))
PYEOF
