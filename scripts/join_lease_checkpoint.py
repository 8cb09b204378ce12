"""Rebuild a training checkpoint (runs/phase5/last.pt) from what scripts/lease_train.sh wrote to $OUT.

The lent machine can send back files of at most 16 MiB, so the model travels in two safetensors
parts plus its metadata; the optimizer state stays behind (a resumed run starts a fresh one).
"""

import argparse
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("folder", help="the folder the lease's $OUT files came back to")
    p.add_argument("--out", default="runs/phase5/last.pt")
    a = p.parse_args(argv)
    src = Path(a.folder)
    model = {}
    for part in sorted(src.glob("model-part*.safetensors")):
        model.update(load_file(str(part)))
    if not model:
        raise SystemExit(f"error: no model-part*.safetensors in {src}")
    ckpt = json.loads((src / "meta.json").read_text())
    ckpt["model"] = model
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, out)
    print(f"{out}: step {ckpt['step']}, {len(model)} tensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
