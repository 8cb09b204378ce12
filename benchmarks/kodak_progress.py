"""What a reship gained: the shipped weights against the ones they replaced, from the manifest.

    .venv/bin/python benchmarks/kodak_progress.py [--weights DIR] [--ceiling [--previous-weights DIR]]
        [--out results/kodak_progress.md]

`make reship` records each variant's Kodak figures (`kodak`) and those of the weights it replaced
(`kodak_previous`) in the manifest. This prints, for every variant, the BD-rate and BD-PSNR of the
new figures against the old (PSNR RGB, PCHIP; negative = fewer bits for the same PSNR) and, for each
lambda of the default variant, both points and the PSNR gained at the same rate (the old curve
interpolated on log bpp at the new rate; "–" where the new rate lies outside the old curve).

--ceiling adds the transforms' ceiling: the mean PSNR (RGB, 8-bit) of g_s(g_a(x)) with no
quantization over the whole Kodak images, the most any rate can give with these transforms
(`scripts/dev_check.py` prints the same on the dev crops). --previous-weights DIR measures it for a
copy of the replaced weights too (copy weights/ away before the reship to keep them).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core.codec import DEFAULT_VARIANT, _to_rgb8, load_codec  # noqa: E402
from core.errors import WcsError  # noqa: E402
from core.images import load_image, write_atomic  # noqa: E402
from core.manifest import read_manifest, weights_dir  # noqa: E402
from core.metrics import bd_psnr, bd_rate, psnr  # noqa: E402
from core.models import VARIANTS, pad_to_multiple  # noqa: E402
from kodak_compare import psnr_at  # noqa: E402


def against_previous(entry: dict) -> tuple[float, float]:
    """(BD-rate %, BD-PSNR dB) of a manifest entry's `kodak` against its `kodak_previous`."""
    new, old = entry["kodak"], entry["kodak_previous"]
    return (bd_rate(old["bpp"], old["psnr-rgb"], new["bpp"], new["psnr-rgb"]),
            bd_psnr(old["bpp"], old["psnr-rgb"], new["bpp"], new["psnr-rgb"]))


def same_rate(entry: dict) -> list[tuple[float, float, float, float, float, float]]:
    """Per lambda: (lambda, new bpp, new PSNR, old bpp, old PSNR, PSNR gained at the new rate or nan)."""
    new, old = entry["kodak"], entry["kodak_previous"]
    order = np.argsort(old["bpp"])
    old_curve = {"bpp": [old["bpp"][i] for i in order], "psnr-rgb": [old["psnr-rgb"][i] for i in order]}
    rows = []
    for i, lam in enumerate(new["lambda"]):
        j = old["lambda"].index(lam) if lam in old.get("lambda", []) else None
        rows.append((lam, new["bpp"][i], new["psnr-rgb"][i],
                     old["bpp"][j] if j is not None else math.nan, old["psnr-rgb"][j] if j is not None else math.nan,
                     new["psnr-rgb"][i] - psnr_at(old_curve, new["bpp"][i])))
    return rows


@torch.no_grad()
def transform_ceiling(model, images: list[Path]) -> float:
    """Mean PSNR (RGB, 8-bit, whole images, padded as the codec pads) of g_s(g_a(x)), unquantized."""
    values = []
    for path in images:
        img = load_image(path)
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float().div(255)
        h, w = x.shape[-2:]
        x_hat = model.synthesize(model.analyze(pad_to_multiple(x)))
        values.append(psnr(img, _to_rgb8(x_hat, h, w)))  # cropped and rounded as the codec delivers
    return float(np.mean(values))


def _num(v: float, fmt: str) -> str:
    return "–" if v != v else format(v, fmt)


def report(models: dict, default: str = DEFAULT_VARIANT, ceilings: dict[str, float] | None = None) -> str:
    out = ["| variant | model id | BD-rate against previous | BD-PSNR |", "|---|---|---|---|"]
    for variant in VARIANTS:
        entry = models.get(variant)
        if not entry or "kodak" not in entry or "kodak_previous" not in entry:
            continue
        try:
            rate, gain = against_previous(entry)
            out.append(f"| {variant} | {entry.get('model_id', '?')} | {rate:+.3f} % | {gain:+.3f} dB |")
        except (WcsError, ValueError) as exc:  # curves that do not overlap or do not rise
            out.append(f"| {variant} | {entry.get('model_id', '?')} | – ({exc}) | – |")
    entry = models.get(default)
    if entry and "kodak" in entry and "kodak_previous" in entry:
        out += ["", f"{default}, per lambda (same-rate gain: against the previous curve, interpolated on log bpp,"
                " at the new rate):",
                "", "| lambda | new bpp / PSNR | previous bpp / PSNR | same-rate gain |", "|---|---|---|---|"]
        for lam, nb, npsnr, ob, opsnr, gain in same_rate(entry):
            out.append(f"| {lam:g} | {nb:.4f} / {npsnr:.3f} dB | {_num(ob, '.4f')} / {_num(opsnr, '.3f')} dB | "
                       f"{_num(gain, '+.3f')} dB |")
    if ceilings:
        out += ["", "| transforms' ceiling (no quantization, Kodak) | PSNR |", "|---|---|"]
        out += [f"| {name} | {value:.3f} dB |" for name, value in ceilings.items()]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="weights folder (default: the shipped one)")
    p.add_argument("--variant", default=DEFAULT_VARIANT, help="the variant shown per lambda and for --ceiling")
    p.add_argument("--ceiling", action="store_true", help="also the transforms' ceiling on Kodak (about 10 s)")
    p.add_argument("--previous-weights", default=None, help="with --ceiling: a copy of the replaced weights")
    p.add_argument("--kodak", default=str(ROOT.parent / "shared" / "data" / "kodak"))
    p.add_argument("--out", default=str(ROOT / "results" / "kodak_progress.md"))
    a = p.parse_args(argv)
    directory = Path(a.weights) if a.weights else weights_dir()
    models = read_manifest(directory)["models"]
    if not models:
        raise SystemExit(f"error: no manifest with models in {directory}")
    ceilings = None
    if a.ceiling:
        images = sorted(Path(a.kodak).glob("*.png"))
        if not images:
            raise SystemExit(f"error: no PNG images in {a.kodak}")
        ceilings = {}
        for label, folder in (("previous", a.previous_weights), ("shipped", directory)):
            if folder:
                codec = load_codec(a.variant, weights_dir_=str(folder))
                ceilings[f"{label}: {codec.model_id}"] = transform_ceiling(codec.model, images)
    text = report(models, a.variant, ceilings)
    print(text)
    write_atomic(a.out, text.encode(), overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
