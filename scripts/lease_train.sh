#!/usr/bin/env bash
# Continue the phase5 backbone for a fixed time on a lent GPU machine (the `device` tool), from the
# shipped weights, and write the result to $OUT: the fp32 model in safetensors parts (each under
# the tool's 16 MiB per-file limit), the checkpoint's metadata and the training log.
# Needs: .whl/ (the CompressAI and pytorch-msssim wheels for that machine's Python) and .gpudata/all/ (training crops),
# both carried. Rebuild runs/phase5/last.pt from $OUT with `python scripts/lease_checkpoint.py join DIR`.
set -u
MINUTES=${MINUTES:-8.5}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-16}
WORKERS=${WORKERS:-12}
RUN=${RUN:-/tmp/lease_run}
# LAMBDA_WEIGHTS="0.7 0.7 1 1.5 3 4" draws the high λ more often (core.train --lambda_weights)
LW=()
[ -n "${LAMBDA_WEIGHTS:-}" ] && LW=(--lambda_weights $LAMBDA_WEIGHTS)
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
$PY -c "import torch, core.models; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" || exit 1
limit=$($PY -c "print(int(float('$MINUTES') * 60 + 90))")
timeout -s TERM -k 30 "$limit" $PY -m core train --train_dataset .gpudata/all --variant phase5 \
  --use_adaptive_quant --use_simple_weconv --N ${N:-64} --M ${M:-128} --batch-size "$BATCH" --patch-size ${PATCH:-256} \
  --num-workers "$WORKERS" --lr ${LR:-1e-4} --lr_warmup 200 --lr_schedule cosine --lr_min ${LR_MIN:-1e-5} --iterations 1000000 \
  --max-minutes "$MINUTES" --checkpoint-minutes 2 --save_path "$RUN" --device "$DEVICE" \
  --pretrain ${PRETRAIN:-weights/phase5.safetensors} "${LW[@]}"
echo "train exit $?"
$PY scripts/lease_checkpoint.py split "$RUN/last.pt" "$OUT"
cp "$RUN/log.jsonl" "$OUT/" 2>/dev/null
ls -la "$OUT"
