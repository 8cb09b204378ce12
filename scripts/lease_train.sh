#!/usr/bin/env bash
# Continue the phase5 backbone for a fixed time on a lent GPU machine (the `device` tool), from the
# shipped weights, and write the result to $OUT: the fp32 model in safetensors parts (each under
# the tool's 16 MiB per-file limit), the checkpoint's metadata and the training log.
# Needs: .whl/ (the CompressAI wheel for that machine's Python) and .gpudata/all/ (training crops),
# both carried. Rebuild runs/phase5/last.pt from $OUT with `python scripts/join_lease_checkpoint.py`.
set -u
MINUTES=${MINUTES:-7.5}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-16}
WORKERS=${WORKERS:-12}
RUN=${RUN:-/tmp/lease_run}
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
  --num-workers "$WORKERS" --lr 1e-4 --lr_warmup 200 --lr_schedule cosine --lr_min 1e-5 --iterations 1000000 \
  --max-minutes "$MINUTES" --checkpoint-minutes 2 --save_path "$RUN" --device "$DEVICE" \
  --pretrain ${PRETRAIN:-weights/phase5.safetensors}
echo "train exit $?"
$PY - "$RUN/last.pt" "$OUT" <<'PY'
import json, sys
import torch
from safetensors.torch import save_file
ckpt = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
model = {k: v.float().contiguous() for k, v in ckpt["model"].items()}
keys = sorted(model)
parts, size = [[]], 0
for k in keys:  # parts of at most 12 MB: the tool sends back files of up to 16 MiB
    n = model[k].numel() * 4
    if parts[-1] and size + n > 12e6:
        parts.append([])
        size = 0
    parts[-1].append(k)
    size += n
for i, part in enumerate(parts):
    save_file({k: model[k] for k in part}, f"{sys.argv[2]}/model-part{i}.safetensors")
meta = {k: v for k, v in ckpt.items() if k not in ("model", "optimizer", "aux_optimizer")}
json.dump(meta, open(f"{sys.argv[2]}/meta.json", "w"), indent=1)
print("saved step", ckpt["step"], "wall", round(ckpt["wall_seconds"]), "s,", len(keys), "tensors")
PY
cp "$RUN/log.jsonl" "$OUT/" 2>/dev/null
ls -la "$OUT"
