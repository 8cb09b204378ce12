"""Command line: encode, decode, info, and the tools (bench, train, eval, export).

Errors are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import WcsError

TOOLS = {  # sub-commands with their own argument parsers, in their own modules
    "bench": "core.bench",
    "train": "core.train",
    "eval": "core.eval",
    "export": "core.export",
}


def _parser() -> argparse.ArgumentParser:
    from . import product
    from .models import LAMBDAS, VARIANTS

    p = argparse.ArgumentParser(prog="python -m core", description=f"{product.DISPLAY_NAME} command line")
    p.add_argument("--version", action="version", version=f"{product.DISPLAY_NAME} {product.VERSION}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    e = sub.add_parser("encode", help="compress an image to a .wcs file")
    e.add_argument("image")
    e.add_argument("-o", "--output", required=True, help="the .wcs file to write")
    e.add_argument("--variant", default="phase5", choices=list(VARIANTS))
    e.add_argument("--lambda", dest="lam", type=float, default=0.013,
                   help=f"rate-distortion trade-off in [{LAMBDAS[0]}, {LAMBDAS[-1]}] (default 0.013)")
    e.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="search STEPS optimisation steps for a latent that codes this image in fewer bits for "
                        "its quality (slower encode, any decoder reads it; 30 is a good start)")
    e.add_argument("--recon", help="also write the encoder's reconstruction (PNG)")
    e.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    e.add_argument("--overwrite", action="store_true", help="replace existing output files")

    d = sub.add_parser("decode", help="decompress a .wcs file to PNG")
    d.add_argument("input")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--device", default="cpu")
    d.add_argument("--overwrite", action="store_true")
    d.add_argument("--trace", action="store_true", help="print each decode step")

    i = sub.add_parser("info", help="show what a .wcs file holds")
    i.add_argument("input")
    i.add_argument("--json", action="store_true")

    for name in TOOLS:
        sub.add_parser(name, help=f"{name} (see `python -m core {name} --help`)", add_help=False)
    return p


def _encode(a) -> int:
    from .codec import load_codec
    from .images import load_image, refuse_existing, save_png_atomic, write_atomic
    from .metrics import psnr

    out = Path(a.output)
    refuse_existing(out, a.recon, overwrite=a.overwrite)
    rgb = load_image(a.image)
    res = load_codec(a.variant, a.device).encode(rgb, a.lam, refine=a.refine)
    write_atomic(out, res.data, overwrite=a.overwrite)
    if a.recon:
        save_png_atomic(res.recon, a.recon, overwrite=a.overwrite)
    t = res.timings
    print(
        f"{Path(a.image).name} {res.width}x{res.height} -> {out}: {res.nbytes} bytes, {res.bpp:.4f} bpp, "
        f"PSNR {psnr(rgb, res.recon):.2f} dB ({res.variant}, lambda {res.lam:g}); "
        f"encode {t['total']:.0f} ms (network {t['analysis'] + t['hyper'] + t['context_net'] + t['synthesis']:.0f}, "
        f"entropy coding {t['entropy']:.0f}"
        + (f", refinement {t['refine']:.0f} over {res.refined['steps']} steps, best at step "
           f"{res.refined['best_step']}, loss {res.refined['loss_start']:.4f} -> {res.refined['loss_best']:.4f}"
           if res.refined else "")
        + ")"
    )
    return 0


def _decode(a) -> int:
    from .codec import decode
    from .images import refuse_existing, save_png_atomic

    out = Path(a.output)
    refuse_existing(out, overwrite=a.overwrite)
    data = _read(a.input)

    def show(step):
        where = step.band or ""
        where += f" group {step.group}" if step.group else (f" row {step.row}" if step.row is not None else "")
        print(f"  step {step.index:4d} {step.stage:9s} {where:14s} {step.positions:6d} pos {step.ms:8.2f} ms")

    res = decode(data, on_step=show if a.trace else None, device=a.device)
    save_png_atomic(res.image, out, overwrite=a.overwrite)
    t = res.timings
    print(f"{a.input} -> {out}: {res.width}x{res.height}, decode {t['total']:.0f} ms "
          f"(network {t['hyper'] + t['context_net'] + t['synthesis']:.0f}, entropy decoding {t['entropy']:.0f})")
    return 0


def _info(a) -> int:
    from .codec import read_info

    info = read_info(_read(a.input))
    if a.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{a.input}: {info['variant']} (model {info['model_id']}, weights {info['weights_sha']}), "
          f"lambda {info['lambda']:g}, {info['width']}x{info['height']}, {info['bytes']} bytes, {info['bpp']:.4f} bpp")
    for name, n in info["streams"]:
        print(f"  {name:8s} {n:8d} bytes")
    return 0


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise WcsError(f"cannot read {path}: {exc.strerror or exc}") from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        import importlib

        try:
            return int(importlib.import_module(TOOLS[argv[0]]).main(argv[1:]) or 0)
        except WcsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    args = _parser().parse_args(argv)
    try:
        return {"encode": _encode, "decode": _decode, "info": _info}[args.cmd](args)
    except WcsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
