"""What encoder refinement buys and costs: plain against refined encodes of one image, side by side.

For each lambda and each step count (0 = the plain encoder): file bytes, bpp, PSNR of the decoded
picture, the rate-distortion cost the refinement minimises (bpp + lambda * 255^2 * MSE, from the real
file and the decoded 8-bit picture) and the encode time. Each refined file is decoded and checked
against the encoder's picture. One run; times are for this machine's threads.

    python benchmarks/bench_refine.py [--image resources/sample/kodim23.png] [--steps 0 10 30]
        [--lambdas 0.0035 0.013 0.05] [--variant phase5] [--out results/bench_refine.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.codec import load_codec  # noqa: E402
from core.images import load_image, write_atomic  # noqa: E402
from core.metrics import psnr  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default=str(ROOT / "resources" / "sample" / "kodim23.png"))
    p.add_argument("--variant", default="phase5")
    p.add_argument("--steps", type=int, nargs="+", default=[0, 10, 30])
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.0035, 0.013, 0.05])
    p.add_argument("--out", help="also write the rows as JSON")
    a = p.parse_args(argv)
    codec = load_codec(a.variant)
    rgb = load_image(a.image)
    h, w = rgb.shape[:2]
    print(f"{Path(a.image).name} {w}x{h}, {a.variant}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads\n")
    print("| λ | steps | bytes | bpp | PSNR (dB) | RD cost | vs plain | encode s |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for lam in a.lambdas:
        base = None
        for steps in a.steps:
            t0 = time.perf_counter()
            res = codec.encode(rgb, lam, refine=steps)
            secs = time.perf_counter() - t0
            if not np.array_equal(codec.decode(res.data).image, res.recon):
                raise SystemExit(f"decode differs from the encoder's picture at lambda {lam}, {steps} steps")
            mse = ((res.recon.astype(np.float64) - rgb) ** 2).mean()
            cost = res.bpp + lam * mse
            base = cost if base is None else base
            row = {"lambda": lam, "steps": steps, "bytes": res.nbytes, "bpp": res.bpp,
                   "psnr": psnr(rgb, res.recon), "rd_cost": cost, "encode_s": secs}
            rows.append(row)
            print(f"| {lam:g} | {steps} | {res.nbytes} | {res.bpp:.4f} | {row['psnr']:.2f} | {cost:.4f} | "
                  f"{100 * (cost / base - 1):+.2f} % | {secs:.1f} |")
    if a.out:
        write_atomic(a.out, (json.dumps(rows, indent=2) + "\n").encode(), overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
