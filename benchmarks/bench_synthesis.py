"""The transforms g_a and g_s with their layers' inference paths (``core.nn.inference``: sub-pixel
last layer, lean GDN, folded WeConv) against the layers' original forward, side by side in one run.

Both run on the same input, alternately, so machine noise hits both alike; each figure is the median
of --repeats. Also prints the largest difference between the two outputs, and both transforms layer by layer.

    python benchmarks/bench_synthesis.py [--image resources/sample/kodim23.png] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.codec import load_codec  # noqa: E402
from core.images import load_image  # noqa: E402
from core.models.wavelet_codec import pad_to_multiple  # noqa: E402
from core.nn.inference import original_paths  # noqa: E402


def timed(fn, x) -> tuple[float, torch.Tensor]:
    t0 = time.perf_counter()
    out = fn(x)
    return (time.perf_counter() - t0) * 1e3, out


def per_layer(seq: nn.Sequential, x: torch.Tensor) -> list[float]:
    times = []
    for layer in seq:
        t, x = timed(layer, x)
        times.append(t)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="resources/sample/kodim23.png")
    p.add_argument("--variant", default="phase5")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = PyTorch's default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    codec = load_codec(a.variant)
    model = codec.model
    img = load_image(a.image)
    x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float().div(255)
    h, w = x.shape[-2:]
    x = pad_to_multiple(x).contiguous(memory_format=torch.channels_last)  # as the codec pads
    with torch.no_grad():
        y = torch.round(model.analyze(x))
        runs = {"g_a": (model.analyze, x), "g_s": (model.synthesize, y)}
        results = {(name, mode): [] for name in runs for mode in ("original", "inference")}
        seqs = {"g_a": (model.g_a, x), "g_s": (model.g_s, y)}
        layers = {(name, mode): [] for name in seqs for mode in ("original", "inference")}
        outputs = {}
        for rep in range(a.repeats + 1):  # the first round warms up (kernel choice, derived weights)
            for mode in ("original", "inference"):
                with original_paths() if mode == "original" else nullcontext():
                    for name, (fn, inp) in runs.items():
                        t, outputs[name, mode] = timed(fn, inp)
                        if rep:
                            results[name, mode].append(t)
                    if rep and not len(model.g_s_blocks) and not len(model.g_a_blocks):
                        for name, (seq, inp) in seqs.items():
                            layers[name, mode].append(per_layer(seq, inp))
    where = f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    print(f"\n{Path(a.image).name} {w}x{h}, {a.variant} weights ({codec.model_id}), {where}, median of {a.repeats}\n")
    print("| transform | original layers ms | inference paths ms | speed-up | largest difference |")
    print("|---|---|---|---|---|")
    for name in runs:
        o, f = (statistics.median(results[name, m]) for m in ("original", "inference"))
        diff = (outputs[name, "original"] - outputs[name, "inference"]).abs().max().item()
        print(f"| {name} | {o:.1f} | {f:.1f} | {o / f:.2f}x | {diff:.1e} |")
    for name, (seq, _) in seqs.items():
        if not layers[name, "original"]:
            continue
        print(f"\n| {name} layer | original ms | inference ms |")
        print("|---|---|---|")
        for i, layer in enumerate(seq):
            o, f = (statistics.median(row[i] for row in layers[name, m]) for m in ("original", "inference"))
            print(f"| {i} {type(layer).__name__} | {o:.1f} | {f:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
