"""Compare training checkpoints (or shipped weights) on held-out photos before spending the time on
fine-tunes, exports and a Kodak evaluation: estimated bpp and PSNR per lambda, side by side.

    python scripts/dev_check.py weights/phase5.safetensors runs/phase5d/last.pt [--lambdas 0.0025 0.013 0.05]

It uses the trainer's own validation (centre 256x256 crops of ../shared/data/dev, rate from the
likelihoods), so it is a quick screen, not a file size: `python -m core eval` measures the real bits.
Its last row, "no quantization", is the PSNR of g_s(g_a(x)) on the same crops: the most the
transforms can give at any rate. When the highest lambda's PSNR is near it, the high rates are
limited by the transforms (their size and training), not by the entropy model or the gains.

The "BD-rate vs first" row is the ship rule made mechanical (see the README's training section):
each column's Bjontegaard rate against the first column over the lambdas both have; negative means
fewer bits for the same PSNR. Ship a run only when it is below zero here, never by looking at Kodak.
With --gate the exit status says it (0: every later column is below zero as shown, to 0.01 %; 3: not,
or no figure), so a script that chains training and `make reship` need not read the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.errors import WcsError  # noqa: E402
from core.metrics import bd_rate  # noqa: E402
from core.models import ModelConfig, WaveletCodecModel  # noqa: E402
from core.train import ImageFolder, _listed, load_checkpoint, psnr_of_mse, validate  # noqa: E402
from core.weights import load_state  # noqa: E402


def load(path: str, lambdas: list[float] | None = None) -> WaveletCodecModel:
    """The model of a checkpoint or of shipped weights, in eval mode."""
    ckpt = load_checkpoint(path)
    # A training checkpoint carries its config; shipped weights have theirs in the manifest.
    config = ckpt.get("config") or _listed(path)[1].get("config")
    if not config:
        raise SystemExit(f"error: {path} is neither a training checkpoint nor weights listed in a manifest")
    cfg = ModelConfig.from_dict(config)
    if lambdas:
        unknown = [lam for lam in lambdas if lam not in cfg.lambdas]
        if unknown:
            raise SystemExit(f"error: {path} was not trained for lambda {unknown}; it has {list(cfg.lambdas)}")
    model = WaveletCodecModel(cfg)
    load_state(model, ckpt["model"])  # the codec's own loader: refuses a checkpoint that does not fit
    return model.eval()


def figures(model: WaveletCodecModel, dataset: str, lambdas: list[float] | None) -> dict[float, tuple[float, float]]:
    """{lambda: (estimated bpp, PSNR)} for one model."""
    out = validate(model, dataset, model.cfg, torch.device("cpu"), lambdas)
    return {float(lam): (v["bpp_est"], v["psnr"]) for lam, v in out.items()}


@torch.no_grad()
def unquantized_psnr(model: WaveletCodecModel, dataset: str) -> float:
    """Mean PSNR of g_s(g_a(x)) over the validation crops: the transforms' ceiling."""
    data = ImageFolder(dataset, 256, train=False)
    psnrs = []
    for i in range(len(data)):
        x = data[i][None]
        psnrs.append(psnr_of_mse((model.synthesize(model.analyze(x)).clamp(0, 1) - x).pow(2).mean().item()))
    return sum(psnrs) / len(psnrs)


def bd_rate_of(anchor: dict[float, tuple[float, float]], test: dict[float, tuple[float, float]]) -> float:
    """BD-rate (%) of `test` against `anchor` over their common lambdas; WcsError when there is none."""
    lams = sorted(set(anchor) & set(test))
    return bd_rate([anchor[lam][0] for lam in lams], [anchor[lam][1] for lam in lams],
                   [test[lam][0] for lam in lams], [test[lam][1] for lam in lams])


def bd_rate_cell(anchor: dict[float, tuple[float, float]], test: dict[float, tuple[float, float]]) -> str:
    """BD-rate of `test` against `anchor` over their common lambdas, or why there is none."""
    try:
        return f"{bd_rate_of(anchor, test):+.2f} %"
    except WcsError as e:  # too few lambdas, curves that do not overlap or do not rise
        return f"- ({e})"


def ahead(anchor: dict[float, tuple[float, float]], test: dict[float, tuple[float, float]]) -> bool:
    """The ship rule: a BD-rate below zero as the table shows it (so -0.00 % is not ahead)."""
    try:
        return round(bd_rate_of(anchor, test), 2) < 0
    except WcsError:
        return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dataset", default=str(Path(__file__).resolve().parent.parent.parent / "shared/data/dev"))
    p.add_argument("--lambdas", type=float, nargs="+")
    p.add_argument("--gate", action="store_true",
                   help="exit with status 3 unless every later checkpoint is ahead of the first by BD-rate")
    a = p.parse_args(argv)
    if a.gate and len(a.checkpoints) < 2:
        p.error("--gate needs two checkpoints or more: the first is the one to beat")
    models = [load(path, a.lambdas) for path in a.checkpoints]  # each read once for both measures
    rows = [figures(model, a.dataset, a.lambdas) for model in models]
    lams = sorted(rows[0])
    print("| lambda | " + " | ".join(a.checkpoints) + " |")
    print("|---|" + "---|" * len(a.checkpoints))
    for lam in lams:
        cells = [f"{r[lam][0]:.3f} bpp / {r[lam][1]:.2f} dB" if lam in r else "-" for r in rows]
        print(f"| {lam:g} | " + " | ".join(cells) + " |")
    if len(rows) > 1:
        print("| BD-rate vs first | - | " + " | ".join(bd_rate_cell(rows[0], r) for r in rows[1:]) + " |")
    ceilings = [unquantized_psnr(model, a.dataset) for model in models]
    print("| no quantization | " + " | ".join(f"{c:.2f} dB" for c in ceilings) + " |")
    if a.gate and not all(ahead(rows[0], r) for r in rows[1:]):
        print("gate: not ahead of the first by BD-rate: do not ship")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
