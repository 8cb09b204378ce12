"""Kodak: the shipped learned variants against the classical codecs, from real-bitstream results.

    .venv/bin/python benchmarks/kodak_compare.py [--learned results/kodak-*.json]
        [--classical results/kodak_classical/curves] [--out results/kodak_compare.md]

Inputs are CompressAI eval_model JSON files: `python -m core eval ... --out results/kodak-VARIANT.json`
for the learned variants and `benchmarks/kodak_classical.py` (core.bench curves) for the rest.
Prints, for every learned variant, its RD table and its BD-rate / BD-PSNR (PSNR RGB, PCHIP over
the overlapping bpp range) against every other curve, and each codec's PSNR at the learned
variant's rates where the curves overlap (piecewise linear in log-bpp).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.errors import WcsError  # noqa: E402
from core.images import write_atomic  # noqa: E402
from core.metrics import bd_psnr, bd_rate  # noqa: E402


def load_curves(paths) -> dict[str, dict]:
    curves = {}
    for p in paths:
        d = json.loads(Path(p).read_text())
        r = d["results"]
        order = np.argsort(r["bpp"])
        curves[d["name"]] = {k: [r[k][i] for i in order] for k in ("bpp", "psnr-rgb") if k in r} | (
            {"lambda": [r["lambda"][i] for i in order]} if "lambda" in r else {})
    return curves


def psnr_at(curve: dict, bpp: float) -> float:
    x, y = np.log(curve["bpp"]), np.asarray(curve["psnr-rgb"])
    lb = np.log(bpp)
    return float(np.interp(lb, x, y)) if x[0] <= lb <= x[-1] else float("nan")


def report(learned: dict, classical: dict) -> str:
    out = []
    everyone = {**learned, **classical}
    for name, c in learned.items():
        out.append(f"### {name}\n\n| lambda | bpp | PSNR (dB) | " + " | ".join(f"{k} PSNR at this bpp" for k in classical)
                   + " |\n|---|---|---|" + "---|" * len(classical))
        for i, lam in enumerate(c.get("lambda", [float("nan")] * len(c["bpp"]))):
            cells = " | ".join("–" if np.isnan(v := psnr_at(cl, c["bpp"][i])) else f"{v:.2f}" for cl in classical.values())
            out.append(f"| {lam:g} | {c['bpp'][i]:.4f} | {c['psnr-rgb'][i]:.2f} | {cells} |")
        out.append(f"\n| {name} against | BD-rate (%) | BD-PSNR (dB) |\n|---|---|---|")
        for other, oc in everyone.items():
            if other == name:
                continue
            try:
                br = bd_rate(oc["bpp"], oc["psnr-rgb"], c["bpp"], c["psnr-rgb"])
                bp = bd_psnr(oc["bpp"], oc["psnr-rgb"], c["bpp"], c["psnr-rgb"])
                out.append(f"| {other} | {br:+.2f} | {bp:+.2f} |")
            except (WcsError, ValueError) as exc:
                out.append(f"| {other} | – ({exc}) | – |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learned", nargs="+", default=sorted(glob.glob(str(ROOT / "results" / "kodak-*.json"))))
    p.add_argument("--classical", default=str(ROOT / "results" / "kodak_classical" / "curves"))
    p.add_argument("--out", default=str(ROOT / "results" / "kodak_compare.md"))
    a = p.parse_args(argv)
    learned = load_curves(a.learned)
    classical = load_curves(sorted(Path(a.classical).glob("*.json")))
    text = report(learned, classical)
    print(text)
    write_atomic(a.out, text.encode(), overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
