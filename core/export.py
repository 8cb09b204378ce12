"""`python -m core export CKPT --variant NAME`: a training checkpoint -> a shipped checkpoint.

Drops the optimizer, stores the weights as safetensors (fp32, or fp16 with --fp16), and
records the variant in weights/manifest.json with its sha256 and how it was trained. The
rANS tables are rebuilt from the weights at load time, so they are always up to date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .models import ModelConfig, VARIANTS, WaveletCodecModel
from .train import continued, load_checkpoint
from .weights import install_weights, load_state, read_manifest, weights_dir

#: A run that trained only these (on a frozen backbone) is a variant's context fine-tune; a run that
#: trained other parts with the rest frozen (g_s, say) is the same weights trained further.
CONTEXT_MODULES = {"enhanced_context", "multi_res_builder", "param_net"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m core export", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--variant", required=True, choices=list(VARIANTS))
    p.add_argument("--out", default=None, help="weights folder (default: the project's weights/)")
    p.add_argument("--fp16", action="store_true", help="store half precision (half the size)")
    p.add_argument("--model-id", help="id written into every bitstream (default: wcs-VARIANT-sSTEP)")
    p.add_argument("--base", help="store only what differs from this installed variant (e.g. phase5, "
                                  "for a variant fine-tuned on its frozen backbone)")
    p.add_argument("--data", default="shared/data/train (6,161 crops, 256x256)")
    p.add_argument("--schedule", help="how this run trained, in words (appended to the schedule of the "
                                      "weights it continued, so the manifest tells the whole history)")
    p.add_argument("--note", help="anything else a reader of the manifest should know")
    a = p.parse_args(argv)

    ckpt = load_checkpoint(a.checkpoint)
    cfg = ModelConfig.from_dict(ckpt["config"])
    model = WaveletCodecModel(cfg)
    model.load_state_dict(ckpt["model"])
    dtype = torch.float16 if a.fp16 else torch.float32
    if a.fp16:  # what ships is what gets coded: round-trip the weights through fp16 first
        load_state(model, {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()})
    args = ckpt.get("args", {})
    info = {
        "variant": a.variant,
        "lambdas": list(cfg.lambdas),
        "training": {
            "data": a.data,
            "iterations": ckpt["step"],
            "batch_size": args.get("batch_size"),
            "patch_size": args.get("patch_size"),
            "lr": args.get("lr"),
            "pretrain": args.get("pretrain"),
            "freeze_except": args.get("freeze_except"),
            "wall_hours": round(ckpt.get("wall_seconds", 0.0) / 3600, 2),
            "device": ckpt.get("device", "cpu"),
        },
    }
    if args.get("lambda_weights"):
        info["training"]["lambda_weights"] = dict(zip(map(str, cfg.lambdas), args["lambda_weights"]))
    prior = ckpt.get("prior")
    if prior and prior.get("iterations"):
        hist = {"iterations": prior["iterations"], "wall_hours": round(prior["wall_seconds"] / 3600, 2),
                "from": prior.get("source")}
        frozen_backbone = bool(args.get("freeze_except")) and set(args["freeze_except"]) <= CONTEXT_MODULES
        if frozen_backbone:  # fine-tuned context networks: say how long the backbone trained
            info["training"]["backbone"] = hist
        else:  # the same weights trained further: the totals are what the weights have seen
            # "from" may be reworded for readers; "lineage" keeps the checkpoint chain that _marks matches.
            info["training"]["continued_from"] = {**hist, "lineage": hist["from"]}
            info["training"]["total_iterations"] = prior["iterations"] + ckpt["step"]
            info["training"]["total_wall_hours"] = round((prior["wall_seconds"] + ckpt.get("wall_seconds", 0.0)) / 3600, 2)
    out = Path(a.out) if a.out else weights_dir()
    models = read_manifest(out)["models"]
    if a.base and "backbone" in info["training"] and a.base in models:  # the weights it shares, by name
        info["training"]["backbone"]["from"] = models[a.base].get("model_id")
    previous = models.get(a.variant, {})
    if "kodak" in previous:
        info["kodak_previous"] = previous["kodak"]
    if a.schedule:
        # Continued from where the shipped weights ended: their history comes first.
        shipped = previous.get("training", {})
        earlier = shipped.get("schedule")
        hist = info["training"].get("continued_from", {})
        before = hist.get("iterations")
        ended = shipped.get("total_iterations", shipped.get("iterations"))
        # Runs in between (a GPU lease, an unshipped run) are fine when the lineage passes through the
        # shipped weights, by their id or by their checkpoint: the new schedule text then describes them too.
        via = before is not None and ended is not None and before > ended \
            and any(mark in str(hist.get("from") or "") for mark in _marks(previous))
        info["training"]["schedule"] = f"{earlier} {a.schedule}" if earlier and (before == ended or via) else a.schedule
    if a.note:
        info["training"]["note"] = a.note
    t = info["training"]
    model_id = a.model_id or (f"wcs-{a.variant}-s{t['total_iterations']}" if "total_iterations" in t
                              else f"wcs-{a.variant}-s{ckpt['step']}"
                              + (f"-b{t['backbone']['iterations']}" if "backbone" in t else ""))
    entry = install_weights(model, a.variant, out, model_id, info, dtype, base=a.base)
    size = (out / entry["file"]).stat().st_size
    print(f"{a.variant}: {out / entry['file']} ({size / 1e6:.1f} MB, sha256 {entry['sha256'][:16]}…), model id {model_id}")
    return 0


def _marks(entry: dict) -> list[str]:
    """Strings a checkpoint's lineage holds when it descends from the shipped ``entry``: its model id
    (written by hand after a lease), or the tail that names its checkpoint ("(4,911 steps on from …)"),
    which stays the same whatever path that checkpoint has since been moved to."""
    t = entry.get("training", {})
    marks = [entry["model_id"]] if entry.get("model_id") else []
    cf = t.get("continued_from") or {}
    source = cf.get("lineage") or cf.get("from")
    if t.get("iterations") and source:
        marks.append(" " + continued(int(t["iterations"]), source))
    return marks


if __name__ == "__main__":
    sys.exit(main())
