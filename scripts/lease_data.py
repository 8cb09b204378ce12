"""Prepare what a GPU lease needs to train (see scripts/lease_train.sh): the training crops as WebP
in .gpudata/all, as many as fit a byte budget, in a fixed random order.

    python scripts/lease_data.py [--src ../shared/data/train] [--budget-mb 46] [--quality 82]

The lent machine receives the whole working tree (tracked files, the carried folders) up to 64 MiB,
and the crops as JPEG q95 are 173 MB; WebP q82 keeps about 38 dB against them, far above what the
codec reconstructs. Also put the wheels it lacks in .whl (CompressAI and pytorch-msssim, for
its Python 3.12): the README's "Training on a GPU lent for a few minutes" gives the commands.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.train import IMAGE_EXT  # noqa: E402  (the files training itself would read)


def prepare(src: Path, out: Path, budget_bytes: float, quality: int = 82, seed: int = 1) -> tuple[int, int]:
    """Write WebP copies of src's images into out until the budget is reached: (count, bytes)."""
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_EXT)
    random.Random(seed).shuffle(files)
    out.mkdir(parents=True, exist_ok=True)
    count = total = 0
    for i, f in enumerate(files):
        dst = out / f"{i:05d}.webp"
        Image.open(f).convert("RGB").save(dst, "WEBP", quality=quality, method=4)
        size = dst.stat().st_size
        if total + size > budget_bytes:
            dst.unlink()
            break
        count, total = count + 1, total + size
    return count, total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "train"))
    p.add_argument("--out", default=".gpudata/all")
    p.add_argument("--budget-mb", type=float, default=46.0)
    p.add_argument("--quality", type=int, default=82)
    a = p.parse_args(argv)
    n, size = prepare(Path(a.src), Path(a.out), a.budget_mb * 1e6, a.quality)
    print(f"{a.out}: {n} images, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
