"""Decode speed of Phase 4 vs Phase 5 (2 and 4 groups) on the same backbone and image.

Measured side by side in one run; each figure is the median of --repeats runs. Reports
encode and decode milliseconds split into network (transforms + context/parameter networks)
and entropy coding (rANS), and the latent-decoding stage alone (where the variants differ).

    python benchmarks/bench_decode.py [--image resources/sample/kodim23.png] [--weights shipped|random]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.codec import load_codec, make_test_codec  # noqa: E402
from core.errors import WeightsMissingError  # noqa: E402
from core.images import load_image  # noqa: E402

VARIANTS = ["phase5", "phase5-2g", "phase5-light", "phase5-cb", "phase4"]


def get_codec(variant: str, weights: str, N: int, M: int, device: str = "cpu"):
    if weights == "shipped":
        return load_codec(variant, device=device)
    # Same seed -> the backbone is built first, in the same order, so it is identical across variants.
    return make_test_codec(variant, seed=0, N=N, M=M)


def measure(codec, img, lam: float, repeats: int) -> dict:
    enc, dec = [], []
    for _ in range(repeats):
        r = codec.encode(img, lam)
        d = codec.decode(r.data)
        assert (d.image == r.recon).all(), "decode must reproduce the encoder's reconstruction"
        enc.append(r.timings)
        dec.append(d.timings)

    def med(rows, key):
        return statistics.median(t.get(key, 0.0) for t in rows)

    out = {"bytes": r.nbytes, "bpp": r.bpp}
    for name, rows in (("encode", enc), ("decode", dec)):
        net = sum(med(rows, k) for k in ("analysis", "hyper", "context_net", "synthesis"))
        out[name] = {
            "total_ms": med(rows, "total"),
            "network_ms": net,
            "entropy_ms": med(rows, "entropy"),
            "latent_ms": med(rows, "context_net") + med(rows, "entropy"),
        }
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default="resources/sample/kodim23.png")
    p.add_argument("--lambda", dest="lam", type=float, default=0.013)
    p.add_argument("--weights", choices=["shipped", "random"], default="shipped")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--N", type=int, default=96)
    p.add_argument("--M", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = PyTorch's default)")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (shipped weights only)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    img = load_image(a.image)
    results = {}
    for v in a.variants.split(","):
        try:
            codec = get_codec(v, a.weights, a.N, a.M, a.device)
        except WeightsMissingError as exc:
            print(f"{v}: skipped ({exc})")
            continue
        codec.encode(img[:64, :64], a.lam)  # warm-up: first-call allocations and kernel selection
        results[v] = measure(codec, img, a.lam, a.repeats)
    h, w = img.shape[:2]
    where = (torch.cuda.get_device_name() if a.device != "cpu" and torch.cuda.is_available()
             else f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"\n{Path(a.image).name} {w}x{h}, lambda {a.lam}, {a.weights} weights, {where}, median of {a.repeats}\n")
    print("| variant | bpp | enc total ms | enc net | enc rANS | dec total ms | dec net | dec rANS | dec latent ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for v, r in results.items():
        e, d = r["encode"], r["decode"]
        print(f"| {v} | {r['bpp']:.4f} | {e['total_ms']:.0f} | {e['network_ms']:.0f} | {e['entropy_ms']:.0f} | "
              f"{d['total_ms']:.0f} | {d['network_ms']:.0f} | {d['entropy_ms']:.0f} | {d['latent_ms']:.0f} |")
    if "phase4" in results:
        p4 = results["phase4"]["decode"]
        print()
        for v, r in results.items():
            if v != "phase4":
                d = r["decode"]
                print(f"{v}: decode {p4['total_ms'] / d['total_ms']:.1f}x faster than phase4 in total, "
                      f"{p4['latent_ms'] / d['latent_ms']:.1f}x in latent decoding")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
