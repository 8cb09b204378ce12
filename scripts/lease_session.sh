#!/usr/bin/env bash
# One call on a lent GPU machine (the `device` tool), as run on 2026-12-04: continue the phase5
# backbone for MINUTES from PRETRAIN (scripts/lease_train.sh, result in $OUT), then check CUDA on
# that result: export it (fp16, into /tmp/wx, not weights/), round-trip files between the CPU and
# the GPU (benchmarks/cross_device.py) and time a GPU encode and decode (benchmarks/bench_decode.py),
# into $OUT/gpu_checks.txt. The training output goes to $OUT/train.txt, thinned to fit the output.
# Carry .gpudata (crops, and PRETRAIN when it is a travel copy) and .whl; see the README.
set -u
export PYTHONUNBUFFERED=1
nvidia-smi -L
OUT=$OUT MINUTES=${MINUTES:-7.2} BATCH=${BATCH:-32} LR=${LR:-7e-5} LR_MIN=${LR_MIN:-5e-6} \
  PRETRAIN=${PRETRAIN:-.gpudata/seg.pt} LAMBDA_WEIGHTS=${LAMBDA_WEIGHTS:-"0.6 0.6 0.9 1.5 3.5 5"} \
  bash scripts/lease_train.sh 2>&1 | tr '\r' '\n' | awk 'NR%250==0 || !/it\/s/' > "$OUT/train.txt"
tail -25 "$OUT/train.txt"
PY=${PY:-python3}
export PYTHONPATH=${PYTHONPATH:-/tmp/site}
mkdir -p /tmp/wx && cp weights/manifest.json /tmp/wx/
$PY -m core export /tmp/lease_run/last.pt --variant phase5 --fp16 --out /tmp/wx 2>&1 | tail -3
export WCS_WEIGHTS_DIR=/tmp/wx
{ echo "== cross_device"; timeout 60 $PY benchmarks/cross_device.py --variants phase5 --devices "${DEVS:-cpu,cuda}"
  echo "== bench_decode"; timeout 45 $PY benchmarks/bench_decode.py --device "${DEV:-cuda}" --variants phase5 --repeats 3
} > "$OUT/gpu_checks.txt" 2>&1
cat "$OUT/gpu_checks.txt"
ls -la "$OUT"
