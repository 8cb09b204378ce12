"""Carry a training checkpoint back from a lent GPU machine, whose `$OUT` returns files of at most 16 MiB.

    python scripts/lease_checkpoint.py split RUN/last.pt OUTDIR      # on the GPU machine
    python scripts/lease_checkpoint.py join OUTDIR --out runs/phase5/last.pt   # here
    python scripts/lease_checkpoint.py travel runs/phase5/last.pt .gpudata/seg.pt  # here, for a 2nd call

`split` writes the fp32 model as safetensors parts of at most 12 MB and the checkpoint's other
fields as meta.json; the optimizer state stays behind (a resumed run starts a fresh Adam).
`join` puts them back together as a checkpoint that `core train --resume/--pretrain` and
`core export` read. `travel` writes a checkpoint's model in fp16 with its lineage and nothing else
(half the size), so that it fits beside the training crops in the 64 MiB that a call can carry:
a second call of the same lease continues from it (`PRETRAIN=.gpudata/seg.pt`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

PART_BYTES = 12e6
LEFT_BEHIND = ("model", "optimizer", "aux_optimizer")


def _save(out: Path, ckpt: dict) -> None:
    """torch.save via a temporary file and a rename, as core.train does; not imported from there,
    because split runs on the lent machine, where the repository is not an installed package."""
    tmp = out.with_name(out.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, out)


def split(ckpt_path: str, out_dir: str) -> list[Path]:
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model = {k: v.float().contiguous() for k, v in ckpt["model"].items()}
    parts, size = [[]], 0
    for k in sorted(model):
        n = model[k].numel() * 4
        if parts[-1] and size + n > PART_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(k)
        size += n
    out = Path(out_dir)
    files = []
    for i, names in enumerate(parts):
        files.append(out / f"model-part{i}.safetensors")
        save_file({k: model[k] for k in names}, str(files[-1]))
    (out / "meta.json").write_text(json.dumps({k: v for k, v in ckpt.items() if k not in LEFT_BEHIND}, indent=1))
    print(f"split step {ckpt['step']} into {len(files)} parts, {len(model)} tensors")
    return files


def join(folder: str, out_path: str, overwrite: bool = False) -> dict:
    src = Path(folder)
    out = Path(out_path)
    if out.exists() and not overwrite:  # runs/phase5/last.pt may be the only fp32 copy of a run
        raise SystemExit(f"error: {out} already exists; move it away or pass --overwrite")
    model = {}
    for part in sorted(src.glob("model-part*.safetensors")):
        model.update(load_file(str(part)))
    if not model or not (src / "meta.json").exists():
        raise SystemExit(f"error: {src} holds no model-part*.safetensors and meta.json")
    ckpt = json.loads((src / "meta.json").read_text())
    ckpt["model"] = model
    out.parent.mkdir(parents=True, exist_ok=True)
    _save(out, ckpt)
    print(f"{out}: step {ckpt['step']}, {len(model)} tensors")
    return ckpt


def travel(ckpt_path: str, out_path: str) -> dict:
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    small = {k: ckpt[k] for k in ("step", "wall_seconds", "prior", "config") if k in ckpt}
    small["model"] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    out = Path(out_path)
    _save(out, small)
    print(f"{out}: step {small['step']}, fp16, {out.stat().st_size / 1e6:.1f} MB")
    return small


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("checkpoint")
    s.add_argument("out_dir")
    j = sub.add_parser("join")
    j.add_argument("folder")
    j.add_argument("--out", default="runs/phase5/last.pt")
    j.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    t = sub.add_parser("travel")
    t.add_argument("checkpoint")
    t.add_argument("out")
    a = p.parse_args(argv)
    if a.cmd == "split":
        split(a.checkpoint, a.out_dir)
    elif a.cmd == "travel":
        travel(a.checkpoint, a.out)
    else:
        join(a.folder, a.out, a.overwrite)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
