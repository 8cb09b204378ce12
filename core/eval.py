"""`python -m core eval`: real-bitstream rate-distortion of a shipped variant on a folder.

Writes CompressAI's eval_model JSON layout (name, description, results with one array per
metric, one entry per lambda, averaged over the images) plus a per-image list.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .codec import load_codec
from .images import load_image, refuse_existing, write_atomic
from .models import LAMBDAS, VARIANTS
from .train import IMAGE_EXT


def evaluate(variant: str, files: list[Path], lambdas, device="cpu", progress=None, refine: int = 0) -> dict:
    from .metrics import ms_ssim, psnr

    codec = load_codec(variant, device)
    per_image, curve = [], {k: [] for k in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")}
    for lam in lambdas:
        rows = []
        for f in files:
            rgb = load_image(f)
            t0 = time.perf_counter()
            enc = codec.encode(rgb, lam, refine=refine)
            t1 = time.perf_counter()
            dec = codec.decode(enc.data)
            t2 = time.perf_counter()
            if not np.array_equal(dec.image, enc.recon):
                raise RuntimeError(f"{f.name}: decode differs from the encoder's reconstruction")
            row = {"image": f.name, "lambda": lam, "bytes": enc.nbytes, "bpp": enc.bpp,
                   "psnr-rgb": psnr(rgb, dec.image), "ms-ssim-rgb": ms_ssim(rgb, dec.image),
                   "encoding_time": t1 - t0, "decoding_time": t2 - t1}
            rows.append(row)
            if progress:
                progress(row)
        per_image += rows
        for k in curve:
            curve[k].append(float(np.mean([r[k] for r in rows])))
    name = f"{variant}+refine{refine}" if refine else variant
    how = f", encoder refinement {refine} steps" if refine else ""
    return {
        "name": name,
        "description": f"Wavelet Codec Studio {variant}{how}, real .wcs bitstreams (file bytes), {len(files)} images",
        "results": {"lambda": list(lambdas), **curve},
        "per_image": per_image,
    }


def record_in_manifest(variant: str, res: dict, dataset: str, directory: Path | None = None) -> None:
    """The manifest says how good each shipped variant is: averaged real-bitstream figures."""
    from .manifest import MANIFEST, updating_manifest, weights_dir

    directory = Path(directory) if directory else weights_dir()
    r = res["results"]
    with updating_manifest(directory) as manifest:
        if variant not in manifest["models"]:
            raise SystemExit(f"error: {variant} is not in {directory / MANIFEST}")
        manifest["models"][variant]["kodak"] = {
            "dataset": Path(dataset).name, "images": len({row["image"] for row in res["per_image"]}),
            **{k: [round(v, 5) for v in r[k]] for k in ("lambda", "bpp", "psnr-rgb", "ms-ssim-rgb")},
            "decoding_time_s": [round(v, 3) for v in r["decoding_time"]],
        }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m core eval", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--variant", default="phase5", choices=list(VARIANTS))
    p.add_argument("--lambdas", type=float, nargs="+", default=list(LAMBDAS))
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--limit", type=int, default=0, help="only the first N images")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="encoder-side latent refinement steps per image (slower encode, same decoder)")
    p.add_argument("--record", action="store_true",
                   help="also store the averaged figures as this variant's 'kodak' entry in weights/manifest.json")
    a = p.parse_args(argv)
    files = sorted(f for f in Path(a.dataset).iterdir() if f.suffix.lower() in IMAGE_EXT)
    if a.limit:
        files = files[: a.limit]
    if not files:
        print(f"error: no images in {a.dataset}", file=sys.stderr)
        return 1

    def show(r):
        print(f"  {r['image']} lambda {r['lambda']:g}: {r['bpp']:.4f} bpp, {r['psnr-rgb']:.2f} dB, "
              f"MS-SSIM {r['ms-ssim-rgb']:.4f}, enc {r['encoding_time'] * 1e3:.0f} ms, dec {r['decoding_time'] * 1e3:.0f} ms")

    if a.refine < 0:
        p.error("--refine must be 0 or more")
    try:
        refuse_existing(a.out, overwrite=a.overwrite)  # now, not after an evaluation of half an hour
    except FileExistsError as exc:
        p.error(str(exc))
    if a.refine and a.record:
        p.error("--record stores the plain encoder's figures; run it without --refine")
    res = evaluate(a.variant, files, a.lambdas, a.device, show, a.refine)
    write_atomic(a.out, (json.dumps(res, indent=2) + "\n").encode(), overwrite=a.overwrite)
    r = res["results"]
    if a.record:
        record_in_manifest(a.variant, res, a.dataset)
    print(f"\n{res['name']} on {len(files)} images ({a.dataset})")
    print("| lambda | bpp | PSNR (dB) | MS-SSIM | enc s | dec s |\n|---|---|---|---|---|---|")
    for i, lam in enumerate(r["lambda"]):
        print(f"| {lam:g} | {r['bpp'][i]:.4f} | {r['psnr-rgb'][i]:.2f} | {r['ms-ssim-rgb'][i]:.4f} | "
              f"{r['encoding_time'][i]:.2f} | {r['decoding_time'][i]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
