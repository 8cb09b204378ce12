"""Kodak table for every classical codec available here: bpp, PSNR and MS-SSIM per setting, averaged.

    .venv/bin/python benchmarks/kodak_classical.py [--kodak DIR] [--out results/kodak_classical]

Runs `core.bench` (without MS-SSIM unless --ms-ssim: on 2 CPU cores it costs more than the
encoders; resumable: rerun the same command to finish an interrupted run) with five
settings per codec, then prints the Markdown table and writes it to OUT/kodak_table.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.baselines import all_codecs  # noqa: E402
from core.bench import run_bench  # noqa: E402
from core.images import write_atomic  # noqa: E402

SWEEPS = {  # five settings each, spanning roughly 0.1-2 bpp on Kodak
    "jpeg": [10, 25, 50, 75, 90], "jpeg444": [10, 25, 50, 75, 90], "webp": [10, 30, 50, 75, 90],
    "avif": [20, 40, 55, 70, 85], "heic": [10, 30, 50, 70, 90], "jxl": [10, 30, 50, 70, 90],
    "hevc": [22, 27, 32, 37, 42], "vvc": [22, 27, 32, 37, 42], "jpeg2000": [26, 29, 32, 35, 38],
}


def _fmt(v: float) -> str:
    return "–" if v != v else f"{v:.4f}"


def table(res) -> str:
    lines = ["| codec | setting | bpp | PSNR RGB (dB) | PSNR Y (dB) | MS-SSIM | enc ms | dec ms |",
             "|---|---|---|---|---|---|---|---|"]
    for name, c in res.curves.items():
        r = c["results"]
        for i, s in enumerate(r["setting"]):
            lines.append(f"| {name} | {s:g} | {r['bpp'][i]:.3f} | {r['psnr-rgb'][i]:.2f} | {r['psnr-y'][i]:.2f} | "
                         f"{r['ms-ssim-rgb'][i]:.4f} | {r['encoding_time'][i] * 1e3:.0f} | "
                         f"{r['decoding_time'][i] * 1e3:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kodak", default=str(ROOT.parent / "shared" / "data" / "kodak"))
    p.add_argument("--out", default=str(ROOT / "results" / "kodak_classical"))
    p.add_argument("--anchor", default="jpeg")
    p.add_argument("--ms-ssim", action="store_true", help="also MS-SSIM (about 1 s per image on 2 CPU cores)")
    a = p.parse_args(argv)
    codecs = [c.name for c in all_codecs()]
    t0 = time.time()

    def progress(done, total, text):
        if done == total or done % 20 == 0:
            print(f"[{time.time() - t0:6.0f} s] {done}/{total} {text}", flush=True)

    res = run_bench([a.kodak], codecs, a.out, {k: v for k, v in SWEEPS.items() if k in codecs},
                    anchor=a.anchor, progress=progress, with_ms_ssim=a.ms_ssim)
    n = len({r["image"] for r in res.rows})
    text = (f"Kodak ({n} images), mean over images per setting; bpp from the real file bytes.\n\n" + table(res)
            + "\n" + (Path(a.out) / "bd_rate.md").read_text())
    write_atomic(Path(a.out) / "kodak_table.md", text.encode(), overwrite=True)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
